"""The dbt project: where it is, the environment its profile reads, its manifest, and dbt run
in this process (DuckDB and the local Spark session).

The settings (data directory, warehouse, dbt target ...) are :mod:`catalog.settings`'s; this
module derives the dbt facts from them, read when a function is called (never at import time).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from filelock import FileLock

from catalog.settings import REPO_ROOT, WAREHOUSE_ENV, Settings, settings
from dagster_project.spark import (
    export_spark_environment,
    is_spark,
    spark_method,
    spark_session,
)

DBT_PROJECT_DIR = REPO_ROOT / "dbt"


def export_dbt_environment(s: Settings | None = None) -> None:
    """Put the settings dbt's profile reads (``env_var(...)``) into the process environment."""
    s = s or settings()
    os.environ[WAREHOUSE_ENV] = str(s.warehouse)
    if is_spark(s.dbt_target):
        export_spark_environment(s)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def dbt_project():
    """The DbtProject for the current settings, its manifest prepared (built once per settings;
    never at import time)."""
    return _dbt_project(settings())


@cache
def _dbt_project(s: Settings):
    from dagster_dbt import DbtProject

    export_dbt_environment(s)
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=s.dbt_target_path,
        target=s.dbt_target,
    )
    # Every process that loads the definitions (a run, the UI's code server, the daemon's, a
    # `dagster job launch`) may find the manifest stale at once: one compiles, the others wait
    # for it and then read its manifest (nobody reads a manifest being written, and the
    # compile's scratch warehouse has one writer).
    s.dbt_target_path.mkdir(parents=True, exist_ok=True)
    with FileLock(s.dbt_target_path / ".compile.lock", thread_local=False):
        if manifest_stale(project.manifest_path):
            compile_manifest(s)
    return project


def compile_manifest(s: Settings | None = None):
    """``dbt compile`` in-process: the manifest with every model's compiled SQL, which the
    lineage, the policy gate and the asset metadata read. It compiles against an empty scratch
    file of the warehouse's name, so relation names match and a running build keeps its lock;
    one scratch folder per compile, removed after it, because dbt-duckdb keeps its connection
    to the file open for the life of the process (a long-lived code server would otherwise lock
    every later compile out)."""
    from catalog.manifest import compile_project

    s = s or settings()
    if is_spark(s.dbt_target) and spark_method() == "session":
        spark_session(s)  # dbt-spark must find the platform's session
    (s.dbt_target_path / "compile").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=s.dbt_target_path / "compile"))
    real = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(folder / s.warehouse.name)
    try:
        return compile_project(
            DBT_PROJECT_DIR,
            profiles_dir=DBT_PROJECT_DIR,
            target=s.dbt_target,
            target_path=s.dbt_target_path,
        )
    finally:
        if real is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = real
        shutil.rmtree(folder, ignore_errors=True)


def dbt_executable() -> str:
    """The dbt of this environment (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def manifest_stale(manifest: Path, *, read_at: float | None = None) -> bool:
    """True when the manifest is missing or older than any file of the dbt project (the
    definitions then compile it again), or, given ``read_at`` (the manifest's mtime when the
    definitions read it), when it was written again since (a run's dbt step then refuses to
    build: its policy gate checked the SQL of the manifest it read)."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    if read_at is not None and built != read_at:
        return True
    for sub in ("models", "macros", "seeds", "snapshots", "tests"):
        for f in (DBT_PROJECT_DIR / sub).rglob("*"):
            if f.is_file() and f.stat().st_mtime > built:
                return True
    return any(
        (DBT_PROJECT_DIR / f).stat().st_mtime > built
        for f in ("dbt_project.yml", "profiles.yml")
        if (DBT_PROJECT_DIR / f).exists()
    )


def source_nodes(project) -> dict[tuple[str, str], dict]:
    """The dbt manifest's source nodes keyed by (source, table)."""
    manifest = json.loads(Path(project.manifest_path).read_text())
    return {(n["source_name"], n["name"]): n for n in manifest.get("sources", {}).values()}


# The dbt events a build's Dagster events come from (dagster-dbt converts a node's result event
# into its materialisation or check result); every error-level event is handed over as well.
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def run_dbt(
    args: Sequence[str],
    *,
    target_path: Path,
    s: Settings | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[bool, BaseException | None]:
    """Run dbt in this process (``dbtRunner``) against the settings' target: DuckDB, or the
    local Spark session, whose keyed-hash UDF only a dbt in this process sees.

    In this process because dbt's start-up in a process of its own (importing dbt: about 2.5 s
    on this project's machine, and its exit) is paid on every run, while a process that loaded
    the definitions has imported dbt already. ``on_event`` gets, from dbt's thread, each node's
    result event and each error event, as dicts of the shape of ``--log-format json`` (the
    other events go to dbt's own log only). Returns (success, the exception dbt ended with, if
    any). The DuckDB database dbt opened is closed before this returns, so this process and
    others can open the warehouse again.
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    s = s or settings()
    export_dbt_environment(s)
    if is_spark(s.dbt_target):
        spark_session(s)

    def forward(event) -> None:
        if on_event is not None and (
            event.info.name in RESULT_EVENTS or event.info.level == "error"
        ):
            on_event(msg_to_dict(event))

    full = [
        *args,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", s.dbt_target,
        "--target-path", str(target_path),
        "--log-path", str(target_path),
        "--no-use-colors",
    ]  # fmt: skip
    try:
        result = dbtRunner(callbacks=[forward]).invoke(full)
    finally:
        if not is_spark(s.dbt_target):
            _close_dbt_duckdb()
    return bool(result.success), result.exception


def _close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb holds for the process (it closes it itself when
    its last connection closes, and at exit; this makes sure, also after a failed build)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # dbt-duckdb raises a bare Exception: none was created
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()


def failure_lines(events: Sequence[dict[str, Any]]) -> Iterator[str]:
    """One line per failed node (or dbt error) of a run's events."""
    for event in events:
        info = event.get("info", {})
        if info.get("level") == "error" and info.get("msg"):
            yield str(info["msg"]).strip().splitlines()[0]
