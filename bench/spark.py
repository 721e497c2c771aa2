"""The full build on Spark (a standalone cluster, and local Spark) against the same build on DuckDB.

For each size (default 100,000 and 1,000,000 persons, one repeat each, DuckDB and the cluster;
``--quick``: 500 and 2,000 persons, all three targets): generate landing data once;
then per repeat and target, a child process with a fresh data dir and a hard-linked copy of the
generated landing zone (each run carries out the delivered erasure requests) loads the Definitions
(for Spark this starts the local session and compiles the project) and times the
``build_everything`` job (erasures, ingest, policy gate, ``dbt build`` of every seed, model and
test, and the row checks).

- **baseline**: the job on DuckDB (``DBT_TARGET=duckdb``);
- **spark**: the same job on local Spark (``DBT_TARGET=spark``, dbt-spark session method,
  ``local[2]``);
- **cluster**: the same job on a Spark standalone cluster of two workers (one core each) that
  this benchmark starts on 127.0.0.1 for the run (:mod:`dagster_project.spark_cluster`, free
  ports, under the run's temporary directory) and stops at the end: the driver in the child
  process, the executors and the keyed-hash UDF on the workers.

Figures: medians; ``spark_over_duckdb`` and ``cluster_over_duckdb`` are the ratios at each size,
``growth`` each target's time over its own time at the smallest size (how the cost grows with
size). The point is that Spark runs the same project, not that Spark on two cores beats DuckDB.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if importlib.util.find_spec("pyspark") is None:  # `python -m bench` reports it as not available
    raise ModuleNotFoundError("the spark extra is not installed: make spark-venv")

AS_OF = dt.date(2026, 11, 2)
SIZES = (100_000, 1_000_000)
TARGETS = ("duckdb", "spark", "cluster")
# At the default sizes DuckDB against the cluster (the comparison); local Spark, one
# process on the same two cores, is in the quick run and on request (``targets=TARGETS``).
DEFAULT_TARGETS = ("duckdb", "cluster")
QUICK = {"sizes": (500, 2_000), "repeats": 1, "targets": TARGETS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, landing: Path, target: str, master: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "FJORDBANK_DATA_DIR": str(data_dir),
        "FJORDBANK_LANDING_DIR": str(landing),
        "FJORDBANK_SYNTHETIC_DATA": "true",
        "FJORDBANK_PSEUDONYM_KEY": os.environ.get("FJORDBANK_PSEUDONYM_KEY", "bench-key"),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DBT_TARGET": "duckdb" if target == "duckdb" else "spark",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    }
    env.pop("FJORDBANK_WAREHOUSE", None)
    env.pop("FJORDBANK_SPARK_METHOD", None)
    env.pop("FJORDBANK_SPARK_MASTER", None)
    if target == "cluster":
        env["FJORDBANK_SPARK_MASTER"] = master
    return env


def _once() -> None:
    """Child process: load the Definitions (timed as setup), then time the job."""
    import dagster as dg

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    t0 = time.perf_counter()
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("build_everything")
    setup = time.perf_counter() - t0
    with dg.DagsterInstance.get() as instance:
        t0 = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        elapsed = time.perf_counter() - t0
    if not result.success:
        raise SystemExit(f"build_everything failed on {os.environ['DBT_TARGET']}")
    print(json.dumps({"setup": setup, "elapsed": elapsed}))


def _child(data_dir: Path, landing: Path, target: str, master: str = "") -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.spark", "--once"],
        env=_env(data_dir, landing, target, master),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{target} build failed: " + " | ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    sizes: tuple[int, ...] = SIZES, repeats: int = 1, targets: tuple[str, ...] = DEFAULT_TARGETS
) -> list[dict]:
    from dagster_project.spark_cluster import Cluster, start, stop

    if "duckdb" not in targets or not set(targets) <= set(TARGETS):
        raise ValueError(f"targets: 'duckdb' (the baseline) and any of {TARGETS[1:]}")
    rows: list[dict] = []
    first: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_spark_") as tmp:
        cluster = Cluster(
            root=Path(tmp) / "spark-cluster", port=_free_port(), webui_port=_free_port()
        )
        try:
            start(cluster)
            _sizes(Path(tmp), sizes, repeats, cluster.master_url, rows, first, targets)
        finally:
            stop(cluster)
    return rows


def _sizes(
    tmp: Path,
    sizes: tuple[int, ...],
    repeats: int,
    master: str,
    rows: list[dict],
    first: dict,
    targets: tuple[str, ...],
) -> None:
    """Per size: generate landing data, time every target ``repeats`` times, append a row."""
    from dagster_project.landing.generate import generate

    for persons in sizes:
        delivered = tmp / f"landing_{persons}"
        generate(delivered, persons=persons, seed=42, as_of=AS_OF, progress=False)
        times: dict[str, list[float]] = {t: [] for t in targets}
        setups: dict[str, list[float]] = {t: [] for t in targets}
        for r in range(repeats):
            for target in targets:  # interleaved, so drift hits all alike
                data_dir = tmp / f"{target}_{persons}_{r}"
                # Each run on the landing zone as generated: the run carries out the delivered
                # erasure requests, which rewrite files (aside, then renamed: the hard-linked
                # generated files are never written to), so a shared folder would leave the
                # next target no erasure to do.
                landing = data_dir / "landing"
                shutil.copytree(delivered, landing, copy_function=os.link)
                got = _child(data_dir, landing, target, master)
                times[target].append(got["elapsed"])
                setups[target].append(got["setup"])
                shutil.rmtree(data_dir, ignore_errors=True)  # the warehouses: GBs at 1M
        shutil.rmtree(delivered, ignore_errors=True)
        med = {t: statistics.median(v) for t, v in times.items()}
        for t in targets:
            first.setdefault(t, med[t])
        row: dict = {"benchmark": "spark", "persons": persons, "repeats": repeats}
        row.update({f"{t}_s": med[t] for t in targets})
        row.update({f"{t}_over_duckdb": med[t] / med["duckdb"] for t in targets if t != "duckdb"})
        row.update({f"{t}_growth": med[t] / first[t] for t in targets})
        row.update({f"{t}_setup_s": statistics.median(setups[t]) for t in targets})
        rows.append(row)


if __name__ == "__main__":
    if sys.argv[1:] == ["--once"]:
        _once()
    else:
        for row in run(**QUICK):
            print(row)
