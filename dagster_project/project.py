"""Where things are: the one module that knows the project's paths and settings.

Everything is derived from environment variables with project-local defaults, read when a
function is called (never at import time):

| variable                       | default                         |
|--------------------------------|---------------------------------|
| ``FJORDBANK_DATA_DIR``         | ``<repo>/data``                 |
| ``FJORDBANK_LANDING_DIR``      | ``$FJORDBANK_DATA_DIR/landing`` |
| ``FJORDBANK_WAREHOUSE``        | ``$FJORDBANK_DATA_DIR/warehouse.duckdb`` |
| ``FJORDBANK_SYNTHETIC_DATA``   | ``false``: accept synthetic identity numbers (month + 80) |
| ``FJORDBANK_PSEUDONYM_KEY``    | read from ``$FJORDBANK_DATA_DIR/secrets/pseudonym.key``   |
| ``DBT_TARGET``                 | ``duckdb`` (or ``spark``, see dagster_project/spark.py) |
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse: Path
    synthetic_data: bool
    dbt_target: str

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def openlineage_dir(self) -> Path:
        return self.data_dir / "openlineage"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def dbt_target_path(self) -> Path:
        return self.data_dir / "dbt_target" / self.dbt_target

    @property
    def spark_warehouse_dir(self) -> Path:
        """Spark's warehouse (``spark.sql.warehouse.dir``) for the ``spark`` target."""
        return self.data_dir / "spark-warehouse"

    @property
    def spark_metastore_dir(self) -> Path:
        """Spark's Derby metastore and its log."""
        return self.data_dir / "spark-metastore"

    @property
    def spark_staging_dir(self) -> Path:
        """Parquet copies of the validated raw tables, on their way into Spark."""
        return self.data_dir / "spark-staging"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secrets" / "pseudonym.key"


def settings() -> Settings:
    """The current settings, read from the environment on each call."""
    data_dir = Path(os.environ.get("FJORDBANK_DATA_DIR") or REPO_ROOT / "data").resolve()
    return Settings(
        data_dir=data_dir,
        landing_dir=Path(os.environ.get("FJORDBANK_LANDING_DIR") or data_dir / "landing"),
        warehouse=Path(os.environ.get("FJORDBANK_WAREHOUSE") or data_dir / "warehouse.duckdb"),
        synthetic_data=_truthy(os.environ.get("FJORDBANK_SYNTHETIC_DATA")),
        dbt_target=os.environ.get("DBT_TARGET") or "duckdb",
    )


def export_dbt_environment(s: Settings | None = None) -> None:
    """Put the settings dbt's profile reads (``env_var(...)``) into the process environment."""
    s = s or settings()
    os.environ["FJORDBANK_WAREHOUSE"] = str(s.warehouse)
    if s.dbt_target == "spark":
        from dagster_project.spark import export_spark_environment

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
    if _manifest_stale(project.manifest_path):
        compile_manifest(s)
    return project


def compile_manifest(s: Settings | None = None):
    """``dbt compile`` in-process: the manifest with every model's compiled SQL, which the
    lineage, the policy gate and the asset metadata read. It compiles against a scratch file of
    the warehouse's name, so relation names match and a running build keeps its lock."""
    from catalog.manifest import compile_project

    s = s or settings()
    if s.dbt_target == "spark":
        from dagster_project.spark import spark_method, spark_session

        if spark_method() == "session":  # dbt-spark must find the platform's session
            spark_session(s)
    scratch = s.dbt_target_path / "compile" / s.warehouse.name
    scratch.parent.mkdir(parents=True, exist_ok=True)
    real = os.environ.get("FJORDBANK_WAREHOUSE")
    os.environ["FJORDBANK_WAREHOUSE"] = str(scratch)
    try:
        return compile_project(
            DBT_PROJECT_DIR,
            profiles_dir=DBT_PROJECT_DIR,
            target=s.dbt_target,
            target_path=s.dbt_target_path,
        )
    finally:
        if real is None:
            os.environ.pop("FJORDBANK_WAREHOUSE", None)
        else:
            os.environ["FJORDBANK_WAREHOUSE"] = real


def dbt_executable() -> str:
    """The dbt of this environment (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def _manifest_stale(manifest: Path) -> bool:
    """True when the manifest is missing or older than any file of the dbt project."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
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
