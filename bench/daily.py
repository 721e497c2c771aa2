"""The incremental daily run vs a full rebuild, on the same data after one more delivery day.

For each size: generate landing data once and build the platform on it (untimed), then add one
more day's delivery of every table (``dagster_project/landing/daily.py``: 1 % of the keys
delivered again, every tenth of them with one value corrected, plus a consent withdrawal and an
objection). Per repeat, two runs, each on a fresh copy of that data dir (warehouse, landing,
registry, dbt target) at the same path:
- **daily**: the ``build_everything`` job as ``fjordbank run`` starts it (the ingest reads only
  the new and changed files, the event models take only the new rows);
- **full**: the same job tagged as ``fjordbank run --full-refresh`` (every file reloaded, every
  model rebuilt in full);
each executed by Dagster in a child process and timed around the job, as bench/materialise.py
times it. ``ratio`` = median daily / median full (target: <= 0.2 at 1,000,000 persons);
``outputs_equal``: every table of the two warehouses (raw, quarantine and every dbt model; the
load ids aside) holds the same rows.
``phases_s`` and ``full_phases_s``: each side's median seconds per phase (the erasure step, the
ingest steps, the dbt build, the row checks), from the run's step events, as bench/materialise.py
splits its runs.

A second row per size is the floor under that ratio: the same daily run with the person-level
work left out (``--floor``: only the erasure step, the ingest and the staging models and seed,
no intermediate or mart model, no row check), against the same full rebuilds. What the daily run
costs above it is the person-level outputs the issue keeps rebuilt every run.

A third row per size times what every daily run pays before it reads anything: checking that
the registered landing files are unchanged (``ingest_table`` over every contract table, nothing
new delivered), with their stat signatures against the same check with the signatures cleared,
which hashes every registered file as the ingest did before it had them
(``dagster_project/landing/load.py: stat_signature``), alternated ``repeats`` times.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.materialise import median_phases, step_phases

AS_OF = dt.date(2026, 11, 2)
NEXT_DAY = AS_OF + dt.timedelta(days=1)
QUICK = {"sizes": (2_000,), "repeats": 1}


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FJORDBANK_DATA_DIR": str(data_dir),
        "FJORDBANK_LANDING_DIR": str(data_dir / "landing"),
        "FJORDBANK_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "FJORDBANK_SYNTHETIC_DATA": "true",
        "FJORDBANK_PSEUDONYM_KEY": os.environ.get("FJORDBANK_PSEUDONYM_KEY", "bench-key"),
        "OPENLINEAGE_DISABLED": os.environ.get("OPENLINEAGE_DISABLED", "true"),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    }


# The floor run's selection: what a daily run does before any person-level model.
FLOOR_GROUPS = ("landing", "staging", "seeds")


def floor_selection(definitions) -> list:
    """The asset keys of build_everything (every asset but the retention sweep) in
    :data:`FLOOR_GROUPS`; a group with no assets is an error, not a smaller floor."""
    import dagster as dg

    from dagster_project.assets.sweep import SWEEP_KEY

    graph = definitions.resolve_asset_graph()
    empty = [g for g in FLOOR_GROUPS if not dg.AssetSelection.groups(g).resolve(graph)]
    if empty:
        raise SystemExit(f"no assets in group {', '.join(empty)}: update FLOOR_GROUPS")
    floor = dg.AssetSelection.groups(*FLOOR_GROUPS) - dg.AssetSelection.assets(SWEEP_KEY)
    return sorted(floor.resolve(graph))


def _job_once(full: bool, floor: bool = False) -> None:
    """Child process: load the Definitions, then time the build_everything job (with
    ``floor``, only its assets in :data:`FLOOR_GROUPS`)."""
    import dagster as dg

    from dagster_project.assets.ingest import FULL_REFRESH_TAG
    from dagster_project.definitions import defs

    definitions = defs()
    job = definitions.resolve_job_def("build_everything")
    selection = floor_selection(definitions) if floor else None
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as instance:
        t0 = time.perf_counter()
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={FULL_REFRESH_TAG: "true"} if full else {},
            asset_selection=selection,
        )
        elapsed = time.perf_counter() - t0
        if not result.success:
            raise SystemExit("build_everything failed")
        phases = step_phases(instance, result.run_id)
    print(json.dumps({"elapsed": elapsed, "phases": phases}))


def _run_job(data_dir: Path, *, full: bool, floor: bool = False) -> dict:
    """The job in a child process: its seconds (``elapsed``) and seconds per phase."""
    args = [sys.executable, "-m", "bench.daily", "--job-once"]
    args += ["--full"] if full else []
    args += ["--floor"] if floor else []
    proc = subprocess.run(args, env=_env(data_dir), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Dagster run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tables_differing(a: Path, b: Path) -> list[str]:
    """The tables of warehouse ``a`` and ``b`` (but the load registry) whose rows differ, the
    ``_load_id`` columns aside; a table only one of them has counts as differing."""
    import duckdb

    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{a}' as a (read_only)")
        conn.execute(f"attach '{b}' as b (read_only)")
        listed = (
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = ? and table_type = 'BASE TABLE' and table_schema <> 'raw_meta'"
        )
        in_a = set(conn.execute(listed, ["a"]).fetchall())
        in_b = set(conn.execute(listed, ["b"]).fetchall())
        differing = [f"{s}.{t}" for s, t in sorted(in_a ^ in_b)]
        for schema, name in sorted(in_a & in_b):
            cols = [
                c
                for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_catalog = 'a' "
                    "and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if c != "_load_id"
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rel = f'"{schema}"."{name}"'
            diff = conn.execute(
                f"select count(*) from ((select {select} from a.{rel} except all "
                f"select {select} from b.{rel}) union all (select {select} from b.{rel} "
                f"except all select {select} from a.{rel}))"
            ).fetchone()[0]
            if diff:
                differing.append(f"{schema}.{name}")
        return differing
    finally:
        conn.close()


def _next_day(data_dir: Path) -> None:
    """The next day's delivery, with a consent withdrawal and an objection. No erasure request:
    an erasure rewrites the delivered files holding the person, and the generator delivers all
    history in one file per table, so that day reloads those tables and rebuilds their event
    models in full (tests/test_daily_run.py shows it)."""
    import duckdb

    from dagster_project.landing.daily import next_delivery

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        consenting, objector = (
            r[0]
            for r in conn.execute(
                "select national_id from main.group_customer_register "
                "except select national_id from raw_risk.default_cases "
                "except select national_id from raw_risk.fraud_cases order by 1 limit 2"
            ).fetchall()
        )
    later = f"{NEXT_DAY.isoformat()}T08:00:00+01:00"
    next_delivery(
        data_dir / "landing",
        NEXT_DAY,
        every=100,
        correct=10,
        seed=42,
        extra={
            ("privacy", "group_sharing_consents"): [
                {
                    "national_id": consenting,
                    "event_time": later,
                    "consent": "withdrawn",
                    "channel": "online_bank",
                }
            ],
            ("privacy", "objections"): [
                {
                    "national_id": objector,
                    "scope": "direct_marketing",
                    "event_time": later,
                    "action": "object",
                }
            ],
        },
    )


def run(sizes: tuple[int, ...] = (100_000, 1_000_000), repeats: int = 3) -> list[dict]:
    from dagster_project.landing.generate import generate

    rows = []
    for persons in sizes:
        reps = repeats if persons < 1_000_000 else max(1, min(repeats, 2))
        with tempfile.TemporaryDirectory(prefix="fjordbank-bench-daily-") as tmp:
            root = Path(tmp)
            # Every run uses the same data dir path (a copy of the base state), as daily runs
            # do, so dbt's partial parse stays valid.
            run_dir, base = root / "run", root / "base"
            generate(run_dir / "landing", persons=persons, seed=42, as_of=AS_OF, progress=False)
            _run_job(run_dir, full=False)  # yesterday's build
            _next_day(run_dir)
            run_dir.rename(base)
            runs: dict[str, list[dict]] = {"daily": [], "full": [], "floor": []}
            equal = None
            for i in range(reps):
                kept = {}
                for kind in ("daily", "full", "floor"):
                    shutil.copytree(base, run_dir)
                    runs[kind].append(_run_job(run_dir, full=kind == "full", floor=kind == "floor"))
                    if i == 0 and kind != "floor":
                        kept[kind] = root / f"{kind}.duckdb"
                        (run_dir / "warehouse.duckdb").rename(kept[kind])
                    shutil.rmtree(run_dir)
                if i == 0:
                    differing = tables_differing(kept["daily"], kept["full"])
                    equal = not differing
                    if differing:
                        print(f"  tables differing: {', '.join(differing)}", flush=True)
            daily_times = [r["elapsed"] for r in runs["daily"]]
            full_times = [r["elapsed"] for r in runs["full"]]
            d, f = statistics.median(daily_times), statistics.median(full_times)
            rows.append(
                {
                    "benchmark": "daily",
                    "case": f"{persons:,} persons, one more delivery per table",
                    "median_s": d,
                    "baseline": "full rebuild (--full-refresh) of the same data",
                    "baseline_median_s": f,
                    "ratio": d / f,
                    "outputs_equal": equal,
                    "repeats": reps,
                    "daily_s": [round(t, 1) for t in daily_times],
                    "full_s": [round(t, 1) for t in full_times],
                    "phases_s": median_phases(runs["daily"]),
                    "full_phases_s": median_phases(runs["full"]),
                }
            )
            floor_times = [r["elapsed"] for r in runs["floor"]]
            fl = statistics.median(floor_times)
            rows.append(
                {
                    "benchmark": "daily",
                    "case": f"{persons:,} persons, the daily run without person-level work "
                    f"(only {', '.join(FLOOR_GROUPS)})",
                    "median_s": fl,
                    "baseline": "full rebuild (--full-refresh) of the same data",
                    "baseline_median_s": f,
                    "ratio": fl / f,
                    "person_level_s": d - fl,
                    "repeats": reps,
                    "floor_s": [round(t, 1) for t in floor_times],
                    "phases_s": median_phases(runs["floor"]),
                }
            )
            shutil.copytree(base, run_dir)
            rows.append(_registry_check(run_dir, persons, max(reps, 3)))
    return rows


def _registry_check(data_dir: Path, persons: int, repeats: int) -> dict:
    """The ingest over an unchanged landing zone: stat signatures vs hashing every file."""
    import duckdb

    from dagster_project.landing import load
    from dagster_project.landing.contract import TABLES

    landing = data_dir / "landing"
    # the copied files past the window in which a file gets no signature, as yesterday's are
    time.sleep(load.RACY_NS / 1e9 + 1)

    def sweep(conn) -> tuple[float, int]:
        t0 = time.perf_counter()
        read = sum(
            len(load.ingest_table(conn, t.source, t.name, landing, allow_synthetic=True).files_read)
            for t in TABLES
        )
        return time.perf_counter() - t0, read

    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        sweep(conn)  # loads the new day's files and records their signatures (untimed)
        hashed, signed = [], []
        for _ in range(repeats):
            conn.execute(f"update {load.REGISTRY_TABLE} set stat_signature = null")
            hashed.append(sweep(conn))
            signed.append(sweep(conn))
    reads = {n for _, n in hashed + signed}
    if reads != {0}:
        raise SystemExit(f"the unchanged landing zone had files read again: {sorted(reads)}")
    size = sum(f.stat().st_size for f in landing.rglob("*.csv"))
    h = statistics.median(t for t, _ in hashed)
    s = statistics.median(t for t, _ in signed)
    return {
        "benchmark": "daily",
        "case": f"{persons:,} persons, checking an unchanged landing zone ({size / 1e9:.2f} GB)",
        "median_s": s,
        "baseline": "the same check hashing every registered file (no stat signatures)",
        "baseline_median_s": h,
        "ratio": s / h,
        "repeats": repeats,
        "signatures_s": [round(t, 2) for t, _ in signed],
        "hashing_s": [round(t, 2) for t, _ in hashed],
    }


if __name__ == "__main__":
    if "--job-once" in sys.argv:
        _job_once(full="--full" in sys.argv, floor="--floor" in sys.argv)
    else:
        quick = "--quick" in sys.argv
        for r in run(**(QUICK if quick else {})):
            print(r)
