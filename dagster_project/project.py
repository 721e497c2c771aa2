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
| ``DBT_TARGET``                 | ``duckdb``                      |
"""

from __future__ import annotations

import os
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
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


@cache
def dbt_project():
    """The DbtProject, built once on first use (never at import time)."""
    from dagster_dbt import DbtProject

    export_dbt_environment()
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    return project
