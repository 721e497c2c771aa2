"""Cost of the privacy policy evaluation against lineage extraction and ``dbt parse``, in one run.

Per project, each a median of ``repeats`` runs (more for the cheap ones on the small project),
all on the same compiled manifest, in the process that compiled it (as ``catalog check`` runs):

- **rules**: evaluating every rule, ``catalog.policy.evaluate(graph, tags, config)``: the
  policy as a pure function of the lineage graph, the resolved tags and the configuration, on
  a graph evaluated before (the gate proof's and the objection rule's parse of a model's SQL,
  ``ProjectGraph.parsed``, is kept by the graph: every evaluation after the first on a graph,
  as the lineage page's and Dagster's do);
- **rules, first on a graph**: the same on a graph nothing has been evaluated on yet, so the
  few models the gate proof and the objection rule read are parsed (``catalog check``
  evaluates once);
- **tags + rules**: resolving every column's tags from the manifest (``catalog.tags``) and
  then the rules, i.e. all that ``catalog check`` adds after compiling and extracting lineage;
- **lineage** (baseline): ``build_project_graph`` of the same manifest;
- **dbt parse** (baseline): ``dbt parse --no-partial-parse`` in a fresh process, as a user
  runs it.

Projects: the real ``dbt/`` project, and a generated one with ``models`` more models on top of
it (tagged like the real ones, reading the real intermediate models, joining each other, with
CASE, windows and the objection filter), so every rule has real gates and origins to work on.

Target: evaluation (the rules) under 5% of the lineage extraction time (``ratio`` = rules /
lineage); tags + rules / lineage is reported next to it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from catalog.lineage.graph import ColumnRef, ProjectGraph
from catalog.lineage.project import build_project_graph
from catalog.manifest import Manifest, compile_project
from catalog.policy import evaluate, load_policy_config
from catalog.tags import ColumnTags, ProjectTags, project_tags
from catalog.taxonomy import covered_by_any, load_taxonomy

QUICK = {"repeats": 1, "models": 100}
FEATURES = 8


def _median(fn: Callable[..., Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``fn()`` (``fn(setup())``, setup untimed) over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        args = (setup(),) if setup else ()
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _dbt_parse(project: Path, target: Path) -> None:
    env = {
        **os.environ,
        "FJORDBANK_WAREHOUSE": str(target / "warehouse.duckdb"),
        "FJORDBANK_PSEUDONYM_KEY": os.environ.get("FJORDBANK_PSEUDONYM_KEY", "bench-key"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet",
         "--no-partial-parse"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


# -- the generated project ----------------------------------------------------------------------


def _feature_sources(graph: ProjectGraph, tags: ProjectTags) -> list[tuple[str, list[str]]]:
    """Real intermediate models marketing may read: (name, feature columns), person_id first."""
    cfg = load_policy_config()
    nid = cfg.national_id_category
    out = []
    for node in graph.nodes.values():
        nt = tags.get(node.unique_id)
        if (
            node.resource_type != "model"
            or "person_id" not in node.columns
            or "/intermediate/" not in f"/{node.path}"
            or nt is None
            or not any(covered_by_any(p, ["marketing.advertising.profiling"]) for p in nt.purposes)
        ):
            continue
        cols = [
            c
            for c in node.columns
            if c != "person_id"
            and not any(
                covered_by_any(x, [nid])
                for x in (tags.column(ColumnRef(node.unique_id, c)) or ColumnTags()).categories
            )
        ]
        if cols:
            out.append((node.name, [cols[i % len(cols)] for i in range(FEATURES)]))
    if not out:
        raise RuntimeError("the real project has no intermediate marketing model to build on")
    return sorted(out)


def generate_project(
    root: Path, base: Path, graph: ProjectGraph, tags: ProjectTags, models: int
) -> Path:
    """The real project plus ``models`` generated marketing models under marts/generated."""
    shutil.copytree(base, root, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    where = root / "models" / "marts" / "generated"
    where.mkdir(parents=True)
    sources = _feature_sources(graph, tags)
    features = [f"f{i}" for i in range(FEATURES)]
    entries = []
    for m in range(models):
        name = f"gen_{m:04d}"
        if m < len(sources) * 5:
            src, cols = sources[m % len(sources)]
            select = ", ".join(f"src.{c} as f{i}" for i, c in enumerate(cols))
            sql = (
                f"select src.person_id, {select}\nfrom {{{{ ref('{src}') }}}} as src\n"
                f"inner join {{{{ ref('int_objections_pivoted') }}}} as o\n"
                f"    on o.person_id = src.person_id\n"
                f"where not o.objects_profiling and not o.objects_direct_marketing\n"
            )
        else:
            left = f"gen_{(m * 7 + 3) % m:04d}"
            right = f"gen_{(m * 13 + 5) % m:04d}"
            cases = ",\n        ".join(
                f"case when l.f{i} is not null then cast(l.f{i} as varchar)"
                f" else cast(r.f{(i + 1) % FEATURES} as varchar) end as f{i}"
                for i in range(FEATURES)
            )
            sql = (
                f"with l as (select * from {{{{ ref('{left}') }}}}),\n"
                f"r as (select * from {{{{ ref('{right}') }}}}),\n"
                f"joined as (\n    select\n        l.person_id,\n        {cases},\n"
                f"        row_number() over (partition by l.person_id order by r.f0) as rn\n"
                f"    from l\n    inner join r on r.person_id = l.person_id\n)\n"
                f"select person_id, {', '.join(features)}\nfrom joined\nwhere rn = 1\n"
            )
        (where / f"{name}.sql").write_text(sql)
        entries.append(
            {
                "name": name,
                "config": {
                    "meta": {
                        "privacy": {
                            "purposes": ["marketing.advertising.profiling"],
                            "legal_basis": "legitimate_interests",
                            "retention": "P1D",
                        }
                    }
                },
                "columns": [
                    {"name": c, "config": {"meta": {"privacy": {"category": cat}}}}
                    for c, cat in [
                        ("person_id", "user.unique_id"),
                        *((f, "user.demographic.profile") for f in features),
                    ]
                ],
            }
        )
    (where / "_generated__models.yml").write_text(
        yaml.safe_dump({"version": 2, "models": entries}, sort_keys=False)
    )
    return root


# -- the cases ------------------------------------------------------------------------------------


def bench(label: str, project: Path, manifest: Manifest, repeats: int, tmp: Path) -> list[dict]:
    taxonomy = load_taxonomy()
    config = load_policy_config(taxonomy=taxonomy)
    graph = build_project_graph(manifest)

    def fresh_tags() -> ProjectTags:  # untimed; fresh, so nothing derived from them is warm
        return project_tags(manifest, graph)

    def rules(tags: ProjectTags) -> None:
        evaluate(graph, tags, config, taxonomy=taxonomy)

    def policy() -> None:
        evaluate(graph, project_tags(manifest, graph), config, taxonomy=taxonomy)

    def first_rules(fresh: tuple[ProjectGraph, ProjectTags]) -> None:
        evaluate(*fresh, config, taxonomy=taxonomy)

    def fresh_graph() -> tuple[ProjectGraph, ProjectTags]:  # untimed: the same graph, unparsed
        return ProjectGraph(graph.nodes.values(), graph.edges, dialect=graph.dialect), fresh_tags()

    result = evaluate(graph, fresh_tags(), config, taxonomy=taxonomy)
    small = len(graph.nodes) < 200  # cheap to repeat: more runs, steadier medians
    rules_s = _median(rules, max(repeats, 15 if small else 5), setup=fresh_tags)
    first_s = _median(first_rules, max(repeats, 15 if small else 5), setup=fresh_graph)
    evaluate_s = _median(policy, max(repeats, 15 if small else 5))
    lineage_s = _median(lambda: build_project_graph(manifest), max(repeats, 7 if small else 1))
    parse_s = _median(lambda: _dbt_parse(project, Path(tempfile.mkdtemp(dir=tmp))), repeats)
    models = sum(1 for n in graph.nodes.values() if n.resource_type == "model")
    common = {
        "benchmark": "policy",
        "models": models,
        "columns": result.columns_checked,
        "edges": len(graph.edges),
        "violations": len(result.violations),
    }
    return [
        {
            **common,
            "case": f"{label}: rules vs lineage",
            "median_s": round(rules_s, 4),
            "baseline": "build_project_graph",
            "baseline_median_s": round(lineage_s, 4),
            "ratio": round(rules_s / lineage_s, 4),
            "target": "ratio < 0.05",
        },
        {
            **common,
            "case": f"{label}: rules, first on a graph, vs lineage",
            "median_s": round(first_s, 4),
            "baseline": "build_project_graph",
            "baseline_median_s": round(lineage_s, 4),
            "ratio": round(first_s / lineage_s, 4),
            "target": "informative",
        },
        {
            **common,
            "case": f"{label}: tags + rules vs lineage",
            "median_s": round(evaluate_s, 4),
            "baseline": "build_project_graph",
            "baseline_median_s": round(lineage_s, 4),
            "ratio": round(evaluate_s / lineage_s, 4),
            "target": "informative",
        },
        {
            **common,
            "case": f"{label}: tags + rules vs dbt parse",
            "median_s": round(evaluate_s, 4),
            "baseline": "dbt parse --no-partial-parse (fresh process)",
            "baseline_median_s": round(parse_s, 4),
            "ratio": round(evaluate_s / parse_s, 4),
            "target": "informative",
        },
    ]


def run(repeats: int = 3, models: int = 1000) -> list[dict]:
    from dagster_project.project import DBT_PROJECT_DIR

    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        base = Path(tmp)
        real = compile_project(DBT_PROJECT_DIR, target_path=base / "real")
        rows = bench("project (dbt/)", DBT_PROJECT_DIR, real, repeats, base)
        graph = build_project_graph(real)
        generated = generate_project(
            base / "generated", DBT_PROJECT_DIR, graph, project_tags(real, graph), models
        )
        manifest = compile_project(generated, target_path=base / "generated_target")
        rows += bench(f"project + {models} generated models", generated, manifest, repeats, base)
        return rows


if __name__ == "__main__":
    for row in run(**(QUICK if "--quick" in sys.argv else {})):
        print(row)
