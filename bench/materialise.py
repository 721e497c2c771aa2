"""Full materialisation through Dagster vs. the same work done directly in one DuckDB connection.

For each size: generate landing data once, then per repeat (an empty warehouse each time)
- **dagster**: the `build_everything` job executed by Dagster in a child process (ingest assets,
  then `dbt build` of every seed, model and test through dagster-dbt), timed around the job
  (the Definitions load, which compiles the manifest when the project changed, is not timed;
  neither is the baseline's compile). Every repeat uses the same warehouse path and data
  directory, as daily runs do, so dbt reuses its partial parse after the first repeat;
- **baseline**: one DuckDB connection that runs the same ingest library on the same files, loads
  the seeds, then executes dbt's compiled SQL of every model (``create view/table as``) in
  dependency order and every compiled test query.

The ratio dagster/baseline is the orchestration overhead (targets: <= 2 at 100,000 persons,
<= 1.2 at 1,000,000 and <= 1.3 at 10,000,000). Both sides run in a child process of their own,
which reports its peak resident memory (``getrusage``: the larger of the process's own peak and
that of the largest child it waited for, i.e. dbt's process): the platform runs DuckDB with the
memory limit and threads of :attr:`catalog.settings.Settings.duckdb_config`, the baseline with
DuckDB's defaults. Warehouses are deleted after each repeat (at 10,000,000 persons each takes
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
    print(json.dumps({"elapsed": elapsed, "peak_mb": _peak_mb()}))


def _baseline_once(manifest_path: str, landing: str, warehouse: str) -> None:
    """Child process: the baseline, timed; prints its time and peak memory."""
    manifest = json.loads(Path(manifest_path).read_text())
    elapsed = _baseline(manifest, Path(landing), Path(warehouse))
    print(json.dumps({"elapsed": elapsed, "peak_mb": _peak_mb()}))


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
        ["--baseline-once", str(manifest), str(landing), str(warehouse)],
        _env(data_dir, landing, warehouse),
        "baseline",
    )


def _compile_target(data_dir: Path) -> Path:
    """The baseline's own dbt target: never the platform's, whose manifest the policy gate and
    the lineage read (a compile against a built warehouse gives the incremental branch)."""
    return data_dir / "bench_compile"


def _baseline(manifest: dict, landing: Path, warehouse: Path) -> float:
    """Ingest + seeds + compiled models + compiled tests in one DuckDB connection."""
    import duckdb

    from dagster_project.landing.contract import TABLES
    from dagster_project.landing.load import ingest_table
    from dagster_project.warehouse_functions import register_functions

    nodes = {**manifest["nodes"]}
    order = TopologicalSorter(
        {
            uid: [d for d in n.get("depends_on", {}).get("nodes", []) if d in nodes]
            for uid, n in nodes.items()
        }
    ).static_order()
    t0 = time.perf_counter()
    conn = duckdb.connect(str(warehouse))
    register_functions(conn)
    for t in TABLES:
        ingest_table(conn, t.source, t.name, landing, allow_synthetic=True)
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
    conn.close()
    return time.perf_counter() - t0


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


def run(sizes: tuple[int, ...] = SIZES, repeats: int = 3) -> list[dict]:
    from dagster_project.landing.generate import generate

    rows = []
    for persons in sizes:
        # the large sizes run fewer times: twice at a million persons, once at ten million
        reps = min(repeats, 1 if persons >= 10_000_000 else 2 if persons >= 1_000_000 else repeats)
        with tempfile.TemporaryDirectory(prefix="fjordbank-bench-") as tmp:
            root = Path(tmp)
            landing = root / "landing"
            generate(landing, persons=persons, seed=42, as_of=AS_OF, progress=False)
            data_dir = root / "data"
            os.environ.update(_env(data_dir, landing, root / "warmup" / "warehouse.duckdb"))
            dagster, base = [], []
            # One warehouse path for every repeat, emptied before each: a daily run reuses its
            # warehouse, and dbt's partial parsing is only reused while the profile (which
            # holds that path) is unchanged. A new path per repeat made every repeat parse the
            # project in full, which production does only after a change to the project.
            wh = root / "dagster" / "warehouse.duckdb"
            for i in range(reps):
                shutil.rmtree(wh.parent, ignore_errors=True)
                wh.parent.mkdir(parents=True)
                dagster.append(_run_dagster(data_dir, landing, wh))
                if i == 0:
                    _compile(data_dir, landing, wh)
                shutil.rmtree(wh.parent, ignore_errors=True)
                bw = root / "baseline" / "warehouse.duckdb"
                bw.parent.mkdir(parents=True)
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
                }
            )
    return rows


if __name__ == "__main__":
    if "--dagster-once" in sys.argv:
        _dagster_once()
    elif "--baseline-once" in sys.argv:
        _baseline_once(*sys.argv[sys.argv.index("--baseline-once") + 1 :][:3])
    else:
        for r in run():
            print(r)
