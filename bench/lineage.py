"""Speed of the lineage engine against the approach dagster-dbt uses, in one run.

The baseline is dagster-dbt's column lineage (``_build_column_lineage_metadata``): per model,
sqlglot ``optimize`` of the compiled SQL against the parents' schema, then ``lineage()`` once
per output column on the optimized SQL. The engine is ``catalog.lineage``: qualify once, build
scopes once, one bottom-up pass (DIRECT and INDIRECT). Both read the same compiled SQL and the
same schema (the columns the engine infers, since there is no warehouse here).

Cases, each a median of ``repeats`` runs; ``ratio`` = baseline / engine (higher is better)
unless the row says otherwise:

- ``project``: every model of the real dbt project in ``dbt/`` (compiled once), falling back
  to the test fixture project while ``dbt/`` has no models;
- ``wide N``: one generated query of N columns over 4 CTE levels with joins and CASE
  (N = 50, 150, 300, 600), and the engine's 600-column time over its 150-column time
  (``ratio`` <= 5 means cost about linear in the number of columns);
- ``1,000 models``: a generated dbt project; the engine's whole-project graph against the
  per-column approach, and manifest load + graph against ``dbt compile`` of that project
  (dbt-duckdb, throwaway warehouse, full parse, a fresh process as a user runs it).

Each row has wall-clock medians (``median_s``, ``baseline_median_s``, ``ratio``) and, since
the machine is shared, CPU-time medians of this process and its children (``cpu_s``,
``baseline_cpu_s``, ``cpu_ratio``), which other processes' load hardly moves.

Where the per-column baseline would take minutes (wide queries over 150 columns, the
1,000-model project), it is timed on an evenly spaced sample of columns / models and scaled
to the whole; the row's ``baseline`` says so.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import MappingSchema, exp, parse_one
from sqlglot.expressions import normalize_table_name
from sqlglot.lineage import lineage
from sqlglot.optimizer import optimize

from catalog.lineage import ProjectGraph, build_project_graph, query_lineage
from catalog.manifest import Manifest, compile_project, load_manifest

WIDE_SIZES = (50, 150, 300, 600)
ENGINE_REPEATS = 7  # the engine's runs are short: more of them steady the median
# The 600-vs-150 ratio divides two medians taken on a shared machine: more rounds steady it.
WIDE_ENGINE_REPEATS = 15
QUICK = {"repeats": 3, "wide_sizes": (50, 150), "models": 100, "dbt_compile": False}


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds (this process and its children): the machine is shared,
    so CPU time, which other processes' load hardly moves, is reported next to wall time."""

    wall: float
    cpu: float

    def scaled(self, k: float) -> Timing:
        return Timing(self.wall * k, self.cpu * k)

    def plus(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)


def _clock() -> Timing:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(time.perf_counter(), time.process_time() + children.ru_utime + children.ru_stime)


def _since(start: Timing) -> Timing:
    now = _clock()
    return Timing(now.wall - start.wall, now.cpu - start.cpu)


def _timed(fn: Callable[[], Any]) -> Timing:
    gc.collect()  # every run starts from a clean heap, not with the last run's garbage
    start = _clock()
    fn()
    return _since(start)


def _median(samples: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.wall for t in samples), statistics.median(t.cpu for t in samples)
    )


def _measure(fn: Callable[[], Any], repeats: int) -> Timing:
    """Medians over ``repeats`` runs."""
    return _median([_timed(fn) for _ in range(repeats)])


# -- the baseline: dagster-dbt's per-column approach -------------------------------------------


def optimize_query(sql: str, schema: MappingSchema, dialect: str = "duckdb") -> tuple[str, list]:
    optimized = optimize(parse_one(sql, dialect=dialect), schema=schema, dialect=dialect)
    return optimized.sql(dialect=dialect), list(optimized.named_selects)


def column_deps(
    column: str, optimized_sql: str, schema: MappingSchema, dialect: str = "duckdb"
) -> set[tuple[str, str]]:
    """dagster-dbt: ``lineage()`` of one column, leaves with a table."""
    deps = set()
    for node in lineage(column=column, sql=optimized_sql, schema=schema, dialect=dialect).walk():
        if node.downstream:
            continue
        table = node.expression.find(exp.Table)
        if table:
            deps.add(
                (
                    normalize_table_name(table, dialect=dialect),
                    exp.to_column(node.name).name.lower(),
                )
            )
    return deps


def per_column_lineage(
    sql: str, schema: MappingSchema, dialect: str = "duckdb", sample: int | None = None
) -> Timing:
    """Time of the per-column approach on one query (sampled columns scaled to all)."""
    start = _clock()
    optimized_sql, columns = optimize_query(sql, schema, dialect)
    optimize_time = _since(start)
    step = len(columns) // sample if sample and sample < len(columns) else 1
    picked = columns[::step]
    start = _clock()
    for column in picked:
        column_deps(column, optimized_sql, schema, dialect)
    return optimize_time.plus(_since(start).scaled(len(columns) / max(len(picked), 1)))


def _project_schema(graph: ProjectGraph, manifest: Manifest) -> MappingSchema:
    """Every relation of the project with the columns the engine inferred."""
    schema = MappingSchema(dialect="duckdb")
    for node in graph.nodes.values():
        m = manifest.nodes[node.unique_id]
        if node.relation is None or not node.columns:
            continue
        table = exp.table_(m.identifier, db=m.schema, catalog=m.database, quoted=True)
        schema.add_table(table, {c: "unknown" for c in node.columns}, dialect="duckdb")
    return schema


def _project_models(manifest: Manifest) -> list[str]:
    """What dagster-dbt analyses: compiled SQL of models and snapshots that are materialised."""
    return [
        n.compiled_code
        for n in manifest
        if n.resource_type in ("model", "snapshot")
        and n.materialized != "ephemeral"
        and n.compiled_code
    ]


def project_baseline(manifest: Manifest, graph: ProjectGraph, every: int = 1) -> Timing:
    """Time of the per-column approach over the project (every ``every``-th model, scaled)."""
    schema = _project_schema(graph, manifest)
    models = _project_models(manifest)
    picked = models[::every]
    total = Timing(0.0, 0.0)
    for sql in picked:
        total = total.plus(per_column_lineage(sql, schema))
    return total.scaled(len(models) / max(len(picked), 1))


# -- generated inputs ---------------------------------------------------------------------------


def wide_query(n: int) -> tuple[str, dict]:
    """N output columns over 4 CTE levels with joins, CASE, COALESCE and aggregates."""
    a = {"id": "int", **{f"a{i}": "int" for i in range(n)}}
    b = {"id": "int", **{f"b{i}": "int" for i in range(n)}}
    schema = {"warehouse": {"raw": {"a": a, "b": b}}}
    l1 = ", ".join(f"a.a{i} + b.b{i} as c{i}" for i in range(n))
    l2 = ", ".join(
        f"case when c{i} > {i} then c{i} else c{(i + 1) % n} end as d{i}" for i in range(n)
    )
    l3 = ", ".join(f"coalesce(l2.d{i}, b.b{i}) as e{i}" for i in range(n))
    l4 = ", ".join(f"sum(e{i}) as f{i}" for i in range(n))
    sql = (
        f'with l1 as (select a.id, {l1} from "warehouse"."raw"."a" as a '
        f'join "warehouse"."raw"."b" as b on a.id = b.id),\n'
        f"l2 as (select id, {l2} from l1 where id > 0),\n"
        f'l3 as (select l2.id, {l3} from l2 left join "warehouse"."raw"."b" as b '
        f"on b.id = l2.id),\n"
        f"l4 as (select id, {l4} from l3 group by id)\n"
        f"select * from l4"
    )
    return sql, schema


_N_SOURCES, _SOURCE_COLUMNS, _MODEL_COLUMNS = 10, 20, 15


def generate_project(root: Path, models: int = 1000) -> Path:
    """A dbt project: sources with declared columns and ``models`` models in layers, each
    with import CTEs, a filter, a join, CASE expressions, an aggregate and a window."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: lineage_bench\nversion: '1.0.0'\nprofile: lineage_bench\nconfig-version: 2\n"
        "model-paths: ['models']\nflags:\n  send_anonymous_usage_stats: false\n"
        "models:\n  lineage_bench:\n    +materialized: view\n"
    )
    (root / "profiles.yml").write_text(
        "lineage_bench:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: \"{{ env_var('FJORDBANK_WAREHOUSE') }}\"\n      threads: 1\n"
    )
    columns = "\n".join(
        f"          - name: {c}\n            data_type: integer"
        for c in ["id", *(f"c{i}" for i in range(_SOURCE_COLUMNS - 1))]
    )
    tables = "\n".join(
        f"      - name: t{s}\n        columns:\n{columns}" for s in range(_N_SOURCES)
    )
    (root / "models" / "_sources.yml").write_text(
        f"version: 2\n\nsources:\n  - name: raw\n    schema: raw\n    tables:\n{tables}\n"
    )
    last = _MODEL_COLUMNS - 2  # models output id, c0 .. c{last}
    keep = ", ".join(f"c{i}" for i in range(last + 1))
    casts = ", ".join(f"cast(c{i} as integer) as c{i}" for i in range(last + 1))
    cases = ",\n        ".join(
        f"case when l.c{i} > r.c{i} then l.c{i} else r.c{(i + 1) % (last + 1)} end as c{i}"
        for i in range(last)
    )
    outputs = ", ".join(f"c{i}" for i in range(last))
    names: list[str] = []
    for m in range(models):
        if m < _N_SOURCES * 5:  # staging: rename and cast from a source
            source = f"{{{{ source('raw', 't{m % _N_SOURCES}') }}}}"
            body = f"select id, {casts}\nfrom {source}\nwhere c{_SOURCE_COLUMNS - 2} is not null\n"
        else:  # later layers: two earlier models, CTEs, join, CASE, aggregate, window
            left, right = names[(m * 7) % len(names)], names[(m * 13 + 5) % len(names)]
            body = (
                f"with l as (\n    select id, {keep} from {{{{ ref('{left}') }}}}\n),\n"
                f"r as (\n    select id, {keep} from {{{{ ref('{right}') }}}} where c0 > 0\n),\n"
                f"totals as (\n    select id, sum(c1) as total from r group by id\n),\n"
                f"joined as (\n    select\n        l.id,\n        {cases},\n"
                f"        coalesce(t.total, 0) as c{last}\n"
                f"    from l\n    join r on r.id = l.id\n"
                f"    left join totals as t on t.id = l.id\n)\n"
                f"select id, {outputs},\n"
                f"    sum(c{last}) over (partition by c0 order by id) as c{last}\n"
                f"from joined\n"
            )
        name = f"m{m:04d}"
        (root / "models" / f"{name}.sql").write_text(body)
        names.append(name)
    return root


def _dbt_compile(project: Path, target: Path) -> None:
    """``dbt compile`` as a user runs it (a fresh process, full parse, throwaway warehouse)."""
    env = {
        **os.environ,
        "FJORDBANK_WAREHOUSE": str(target / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "compile", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet",
         "--no-partial-parse"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


# -- the cases ----------------------------------------------------------------------------------


def _row(case: str, engine: Timing, baseline: str, base: Timing, **extra: Any) -> dict:
    return {
        "benchmark": "lineage",
        "case": case,
        "median_s": round(engine.wall, 4),
        "baseline": baseline,
        "baseline_median_s": round(base.wall, 4),
        "ratio": round(base.wall / engine.wall, 1) if engine.wall else float("inf"),
        "cpu_s": round(engine.cpu, 4),
        "baseline_cpu_s": round(base.cpu, 4),
        "cpu_ratio": round(base.cpu / engine.cpu, 1) if engine.cpu else float("inf"),
        **extra,
    }


def _project_manifest(tmp: Path) -> tuple[str, Manifest]:
    from catalog.settings import REPO_ROOT
    from dagster_project.project import DBT_PROJECT_DIR

    for label, project in (
        ("project (dbt/)", DBT_PROJECT_DIR),
        ("project (fixture)", REPO_ROOT / "tests" / "fixtures" / "lineage_project"),
    ):
        if any((project / "models").rglob("*.sql")):
            return label, compile_project(project, target_path=tmp / label.split()[1])
    raise FileNotFoundError("no dbt project to benchmark")


def bench_project(repeats: int, tmp: Path) -> list[dict]:
    label, manifest = _project_manifest(tmp)
    graph = build_project_graph(manifest)
    engine = _measure(lambda: build_project_graph(manifest), max(repeats, ENGINE_REPEATS))
    baseline = _median([project_baseline(manifest, graph) for _ in range(repeats)])
    models = len(_project_models(manifest))
    return [
        _row(f"{label}: {models} models", engine, "per-column (dagster-dbt)", baseline,
             target="ratio >= 20")
    ]  # fmt: skip


def bench_wide(repeats: int, sizes: tuple[int, ...]) -> list[dict]:
    rows = []
    queries = {n: wide_query(n) for n in sizes}
    # The engine's runs of every size interleaved, so that the machine's load (shared) weighs
    # on each size alike and the ratio between sizes stays meaningful.
    samples: dict[int, list[Timing]] = {n: [] for n in sizes}
    for _ in range(max(repeats, WIDE_ENGINE_REPEATS)):
        for n, (sql, schema) in queries.items():
            samples[n].append(
                _timed(lambda sql=sql, schema=schema: query_lineage(sql, schema=schema))
            )
    engine_times = {n: _median(ts) for n, ts in samples.items()}
    for n, (sql, schema) in queries.items():
        engine = engine_times[n]
        mapping = MappingSchema(schema, dialect="duckdb")
        sample = None if n <= 50 else 20
        baseline = _median(
            [per_column_lineage(sql, mapping, sample=sample) for _ in range(repeats)]
        )
        label = "per-column (dagster-dbt)" + (f", {sample} of {n} columns timed" if sample else "")
        rows.append(_row(f"wide {n} columns", engine, label, baseline, target="ratio >= 20"))
        if n > 150:  # sqlglot's all-columns mode takes minutes beyond this
            continue
        all_at_once = _measure(
            lambda sql=sql, mapping=mapping: lineage(None, sql, schema=mapping, dialect="duckdb"),
            repeats,
        )
        rows.append(
            _row(f"wide {n} columns", engine, "sqlglot lineage(all columns, shared cache)",
                 all_at_once, target="informative")
        )  # fmt: skip
    if 150 in engine_times and 600 in engine_times:
        t150, t600 = engine_times[150], engine_times[600]
        rows.append({
            "benchmark": "lineage", "case": "wide 600 vs 150 columns",
            "median_s": round(t600.wall, 4), "baseline": "engine at 150 columns",
            "baseline_median_s": round(t150.wall, 4), "ratio": round(t600.wall / t150.wall, 2),
            "cpu_s": round(t600.cpu, 4), "baseline_cpu_s": round(t150.cpu, 4),
            "cpu_ratio": round(t600.cpu / t150.cpu, 2), "target": "ratio <= 5 (linear: 4)",
        })  # fmt: skip
    return rows


def bench_many_models(repeats: int, models: int, tmp: Path, dbt_compile: bool = True) -> list[dict]:
    project = generate_project(tmp / "many_models", models)
    target = tmp / "many_models_target"
    manifest = compile_project(project, target_path=target)
    manifest_path = target / "manifest.json"
    graph = build_project_graph(manifest)

    def load_and_build() -> None:
        build_project_graph(load_manifest(manifest_path, project_dir=str(project)))

    # Against the per-column approach: the same work, SQL to lineage, on a loaded manifest.
    engine = _measure(lambda: build_project_graph(manifest), repeats)
    every = max(1, models // 100)
    per_column = _median([project_baseline(manifest, graph, every=every) for _ in range(repeats)])
    label = "per-column (dagster-dbt)" + (f", every {every}th model timed" if every > 1 else "")
    rows = [_row(f"{models} models: graph", engine, label, per_column, target="ratio >= 20")]
    if dbt_compile:  # against dbt compile: reading its manifest counts as our work too
        total = _measure(load_and_build, repeats)
        compile_time = _measure(
            lambda: _dbt_compile(project, Path(tempfile.mkdtemp(dir=tmp))), repeats
        )
        rows.append(
            _row(f"{models} models: manifest + graph", total, "dbt compile (full parse)",
                 compile_time, target="ratio > 1")
        )  # fmt: skip
    return rows


def run(
    repeats: int = 3,
    wide_sizes: tuple[int, ...] = WIDE_SIZES,
    models: int = 1000,
    dbt_compile: bool = True,
) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as tmp:
        base = Path(tmp)
        return [
            *bench_project(repeats, base),
            *bench_wide(repeats, wide_sizes),
            *bench_many_models(repeats, models, base, dbt_compile),
        ]


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rows = run(**(QUICK if quick else {}))
    keys = ["case", "median_s", "baseline", "baseline_median_s", "ratio", "cpu_ratio", "target"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
    print(json.dumps(rows))
