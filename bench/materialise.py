"""Full materialisation through Dagster vs. the same work done directly in one DuckDB connection.

For each size: generate landing data once, then per repeat, each side from the same start (an
empty warehouse, the landing zone as generated, no suppression list or receipts of an earlier
repeat: :func:`_fresh_start`)
- **dagster**: the `build_everything` job executed by Dagster in a child process (the erasure
  requests delivered carried out, ingest assets, then `dbt build` of every seed, model and test
  through dagster-dbt, then the blocking row checks), timed around the job (the Definitions
  load, which compiles the manifest when the project changed, is not timed; neither is the
  baseline's compile). Every repeat uses the same warehouse path and data directory, as daily
  runs do, so dbt reuses its partial parse after the first repeat;
- **baseline**: one DuckDB connection that does the same work with the same library calls: the
  erasure requests carried out, the ingest of every table, the seeds loaded, dbt's compiled SQL
  of every model (``create view/table as``) executed in dependency order and every compiled test
  query, then the row checks' queries.

The ratio dagster/baseline is the orchestration overhead (targets: <= 2 at 100,000 persons,
<= 1.2 at 1,000,000 and <= 1.3 at 10,000,000); each row also gives both sides' seconds per
phase (erasures, ingest, build, checks). Both sides run in a child process of their own,
which reports its peak resident memory (``getrusage``: the larger of the process's own peak and
that of the largest child it waited for, i.e. dbt's process): the platform runs DuckDB with the
memory limit and threads of :attr:`catalog.settings.Settings.duckdb_config`, the baseline with
DuckDB's defaults. Warehouses are deleted after each run (at 10,000,000 persons each takes
several GB beside the 11 GB of landing files).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from graphlib import TopologicalSorter
from pathlib import Path

AS_OF = dt.date(2026, 11, 2)
SIZES = (100_000, 1_000_000, 10_000_000)
QUICK = {"sizes": (2_000,), "repeats": 1}


def _peak_mb() -> float:
    """This process's peak resident memory, or its largest waited-for child's if larger (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _env(data_dir: Path, landing: Path, warehouse: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FJORDBANK_DATA_DIR": str(data_dir),
        "FJORDBANK_LANDING_DIR": str(landing),
        "FJORDBANK_WAREHOUSE": str(warehouse),
        "FJORDBANK_SYNTHETIC_DATA": "true",
        "FJORDBANK_PSEUDONYM_KEY": os.environ.get("FJORDBANK_PSEUDONYM_KEY", "bench-key"),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    }


def _dagster_once() -> None:
    """Child process: load the Definitions, then time the build_everything job."""
    import dagster as dg

    from dagster_project.definitions import defs

    job = defs().resolve_job_def("build_everything")
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as instance:
        t0 = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        elapsed = time.perf_counter() - t0
        if not result.success:
            raise SystemExit("build_everything failed")
        phases = step_phases(instance, result.run_id)
    print(json.dumps({"elapsed": elapsed, "phases": phases, "peak_mb": _peak_mb()}))


def step_phases(instance, run_id: str) -> dict[str, float]:
    """Seconds per phase of a run, from its steps' start and end events: the erasures, the
    ingest step, the dbt build and the row checks (one step, ``row_checks``); the rest
    of the run's time is Dagster's between the steps."""
    import dagster as dg

    from dagster_project.assets.erasure import ERASURE_KEY
    from dagster_project.assets.ingest import INGEST_STEP

    start: dict[str, float] = {}
    phases = dict.fromkeys(("erasures", "ingest", "build", "checks"), 0.0)
    for entry in instance.all_logs(run_id):
        ev, step = entry.dagster_event, entry.step_key
        if ev is None or step is None:
            continue
        if ev.event_type == dg.DagsterEventType.STEP_START:
            start[step] = entry.timestamp
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            if step == ERASURE_KEY.to_python_identifier():
                phase = "erasures"
            elif step == INGEST_STEP:
                phase = "ingest"
            elif "dbt" in step:
                phase = "build"
            else:
                phase = "checks"
            phases[phase] += entry.timestamp - start.pop(step)
    return phases


def _baseline_once(manifest_path: str, warehouse: str) -> None:
    """Child process: the baseline, timed; prints its time and peak memory. The landing zone
    is the settings' (``FJORDBANK_LANDING_DIR``, set by :func:`_env`)."""
    timed = _baseline(Path(manifest_path), Path(warehouse))
    print(json.dumps({**timed, "peak_mb": _peak_mb()}))


def _child(args: list[str], env: dict[str, str], what: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.materialise", *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_dagster(data_dir: Path, landing: Path, warehouse: Path) -> dict:
    return _child(["--dagster-once"], _env(data_dir, landing, warehouse), "Dagster run")


def _run_baseline(data_dir: Path, landing: Path, warehouse: Path) -> dict:
    manifest = _compile_target(data_dir) / "manifest.json"
    return _child(
        ["--baseline-once", str(manifest), str(warehouse)],
        _env(data_dir, landing, warehouse),
        "baseline",
    )


def _compile_target(data_dir: Path) -> Path:
    """The baseline's own dbt target: never the platform's, whose manifest the policy gate and
    the lineage read (a compile against a built warehouse gives the incremental branch)."""
    return data_dir / "bench_compile"


def _baseline(manifest_path: Path, warehouse: Path) -> dict[str, float]:
    """The job's work in one DuckDB connection, by phase: the erasure requests (the library
    call the erasure asset makes), the ingest of every table, the seeds, compiled models and
    compiled tests, then the blocking row checks' queries (planned as the platform plans
    them)."""
    import duckdb

    from catalog.settings import settings
    from dagster_project.assets.erasure import carry_out_erasures
    from dagster_project.assets.sweep import resync_with_ingest
    from dagster_project.catalog_view import catalog_view
    from dagster_project.checks import plan_row_checks
    from dagster_project.landing.contract import TABLES
    from dagster_project.translator import asset_key_for
    from dagster_project.warehouse_functions import register_functions, register_native_hmac

    s = settings()
    manifest = json.loads(manifest_path.read_text())
    catalog = catalog_view(manifest_path)
    checks = plan_row_checks(
        catalog.graph,
        catalog.tags,
        catalog.policy,
        asset_key_for=lambda uid: asset_key_for(catalog.graph, uid),
    )
    nodes = {**manifest["nodes"]}
    order = TopologicalSorter(
        {
            uid: [d for d in n.get("depends_on", {}).get("nodes", []) if d in nodes]
            for uid, n in nodes.items()
        }
    ).static_order()
    phases: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(phase: str) -> None:
        phases[phase] = time.perf_counter() - t0 - sum(phases.values())

    conn = duckdb.connect(str(warehouse))
    register_functions(conn)
    register_native_hmac(conn)  # the keyed hash as dbt's cursors define it
    carry_out_erasures(conn, manifest_path, s=s)
    lap("erasures")
    ingest = resync_with_ingest(conn, s)  # as the ingest assets: suppression, file quarantine
    for t in TABLES:
        ingest(t.source, t.name)
    lap("ingest")
    for uid in order:
        n = nodes[uid]
        kind, mat = n["resource_type"], n["config"].get("materialized")
        rel = f'"{n["schema"]}"."{n.get("alias") or n["name"]}"'
        conn.execute(f'create schema if not exists "{n["schema"]}"')
        if kind == "seed":
            seed_path = Path(n["root_path"]) / n["original_file_path"]
            types = n["config"].get("column_types") or {}
            cols = ", ".join(f"'{c}': '{t}'" for c, t in types.items())
            opts = f", types={{{cols}}}" if cols else ""
            conn.execute(
                f"create or replace table {rel} as select * from read_csv('{seed_path}'{opts})"
            )
        elif kind == "model" and mat in ("view", "table", "incremental"):
            what = "view" if mat == "view" else "table"
            conn.execute(f"create or replace {what} {rel} as {n['compiled_code']}")
        elif kind == "test":
            conn.execute(f"select count(*) from ({n['compiled_code']}) t").fetchone()
    lap("build")
    for check in checks:
        if conn.execute(check.sql).fetchone()[0]:
            raise RuntimeError(f"baseline: row check {check.name} on {check.model} fails")
    lap("checks")
    conn.close()
    return {"elapsed": time.perf_counter() - t0, "phases": phases}


def _compile(data_dir: Path, landing: Path, warehouse: Path) -> None:
    """dbt compile against a built warehouse, so the manifest holds every compiled query (as a
    full build from empty compiles them)."""
    from dagster_project.project import DBT_PROJECT_DIR

    env = _env(data_dir, landing, warehouse)
    target = _compile_target(data_dir)
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "compile",
            "--quiet",
            # The build it is compared with starts from an empty warehouse: incremental models
            # build in full there, so their SQL is the full build's, not the incremental branch.
            "--full-refresh",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
        ],
        env=env,
        check=True,
    )


def _fresh_start(delivered: Path, landing: Path, data_dir: Path, warehouse: Path) -> None:
    """The same starting point for every run of either side: an empty warehouse, the landing
    zone as generated (hard links: the sweep and the erasures write a changed file aside and
    rename it over the old one, so the generated files are never written to) and no state of
    an earlier run's erasures and sweep (suppression list, receipts, set-aside files, reports,
    lineage events). dbt's target (its partial parse) and Dagster's storage stay, as in
    production."""
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(delivered, landing, copy_function=os.link)
    for state in ("privacy", "quarantine", "reports", "openlineage"):
        shutil.rmtree(data_dir / state, ignore_errors=True)


def median_phases(runs: list[dict]) -> dict[str, float]:
    """Each phase's median seconds over ``runs`` (each with a ``phases`` mapping)."""
    return {
        phase: round(statistics.median(r["phases"][phase] for r in runs), 1)
        for phase in runs[0]["phases"]
    }


def run(sizes: tuple[int, ...] = SIZES, repeats: int = 3) -> list[dict]:
    from dagster_project.landing.generate import generate

    rows = []
    for persons in sizes:
        # the large sizes run fewer times: twice at a million persons, once at ten million
        reps = min(repeats, 1 if persons >= 10_000_000 else 2 if persons >= 1_000_000 else repeats)
        with tempfile.TemporaryDirectory(prefix="fjordbank-bench-") as tmp:
            root = Path(tmp)
            delivered = root / "delivered"
            generate(delivered, persons=persons, seed=42, as_of=AS_OF, progress=False)
            data_dir = root / "data"
            landing = root / "landing"
            dagster, base = [], []
            # One warehouse path for every repeat, emptied before each: a daily run reuses its
            # warehouse, and dbt's partial parsing is only reused while the profile (which
            # holds that path) is unchanged. A new path per repeat made every repeat parse the
            # project in full, which production does only after a change to the project.
            wh = root / "dagster" / "warehouse.duckdb"
            bw = root / "baseline" / "warehouse.duckdb"
            for i in range(reps):
                _fresh_start(delivered, landing, data_dir, wh)
                dagster.append(_run_dagster(data_dir, landing, wh))
                if i == 0:
                    _compile(data_dir, landing, wh)
                shutil.rmtree(wh.parent, ignore_errors=True)  # disk: several GB at 10M persons
                _fresh_start(delivered, landing, data_dir, bw)
                base.append(_run_baseline(data_dir, landing, bw))
                shutil.rmtree(bw.parent, ignore_errors=True)
            d = statistics.median(r["elapsed"] for r in dagster)
            b = statistics.median(r["elapsed"] for r in base)
            d_mb = max(r["peak_mb"] for r in dagster)
            b_mb = max(r["peak_mb"] for r in base)
            rows.append(
                {
                    "benchmark": "materialise",
                    "case": f"{persons:,} persons",
                    "median_s": d,
                    "baseline": "same SQL in one DuckDB connection",
                    "baseline_median_s": b,
                    "ratio": d / b,
                    "repeats": reps,
                    "runs_s": [round(r["elapsed"], 1) for r in dagster],
                    "baseline_runs_s": [round(r["elapsed"], 1) for r in base],
                    "peak_mb": round(d_mb),
                    "baseline_peak_mb": round(b_mb),
                    "peak_ratio": d_mb / b_mb,
                    "phases_s": median_phases(dagster),
                    "baseline_phases_s": median_phases(base),
                }
            )
    return rows


if __name__ == "__main__":
    if "--dagster-once" in sys.argv:
        _dagster_once()
    elif "--baseline-once" in sys.argv:
        _baseline_once(*sys.argv[sys.argv.index("--baseline-once") + 1 :][:2])
    else:
        for r in run():
            print(r)
