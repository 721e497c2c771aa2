"""The platform's settings: the one reader of the environment.

:func:`settings` reads the environment when it is called (never at import time) and returns a
frozen :class:`Settings`; everything else asks it instead of reading ``os.environ``:

| variable                       | default                                                  |
|--------------------------------|----------------------------------------------------------|
| ``FJORDBANK_DATA_DIR``         | ``<repo>/data`` (the ``data`` folder beside ``catalog/``) |
| ``FJORDBANK_LANDING_DIR``      | ``$FJORDBANK_DATA_DIR/landing``                          |
| ``FJORDBANK_WAREHOUSE``        | ``$FJORDBANK_DATA_DIR/warehouse.duckdb``                 |
| ``FJORDBANK_SYNTHETIC_DATA``   | ``false``: accept synthetic identity numbers (month + 80) |
| ``FJORDBANK_PSEUDONYM_KEY``    | the key file ``$FJORDBANK_DATA_DIR/secrets/pseudonym.key`` |
| ``DBT_TARGET``                 | ``duckdb`` (or ``spark``, see dagster_project/spark.py)  |

The data directory has one default whoever asks (the ``catalog`` commands, Dagster, the
``fjordbank`` command): the repository's ``data/``, whatever the working directory. The key
itself is resolved by :mod:`catalog.pseudonym`.

Not read here, because they belong to one library's own configuration: the Spark connection
(``FJORDBANK_SPARK_METHOD``, ``FJORDBANK_SPARK_MASTER``; ``dagster_project/spark.py``, and the
other ``FJORDBANK_SPARK_*`` that ``dbt/profiles.yml`` reads), the OpenLineage transport
(``OPENLINEAGE_*``; ``dagster_project/openlineage.py``) and Dagster's ``DAGSTER_HOME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DATA_DIR_ENV = "FJORDBANK_DATA_DIR"
LANDING_DIR_ENV = "FJORDBANK_LANDING_DIR"
WAREHOUSE_ENV = "FJORDBANK_WAREHOUSE"
SYNTHETIC_ENV = "FJORDBANK_SYNTHETIC_DATA"
KEY_ENV = "FJORDBANK_PSEUDONYM_KEY"
DBT_TARGET_ENV = "DBT_TARGET"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """The settings of one moment; the paths below the data directory are derived from it."""

    data_dir: Path
    landing_dir: Path
    warehouse: Path
    synthetic_data: bool
    dbt_target: str
    # ``$FJORDBANK_PSEUDONYM_KEY`` stripped ("" when unset); kept out of repr, equality and hash.
    pseudonym_key: str = field(default="", repr=False, compare=False)

    @property
    def key_file(self) -> Path:
        """The pseudonymisation key's file, read when ``$FJORDBANK_PSEUDONYM_KEY`` is unset."""
        return self.data_dir / "secrets" / "pseudonym.key"

    @property
    def dagster_home(self) -> Path:
        """Dagster's storage when ``DAGSTER_HOME`` is unset."""
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


def settings() -> Settings:
    """The current settings, read from the environment on each call."""
    env = os.environ
    data_dir = Path(env.get(DATA_DIR_ENV) or REPO_ROOT / "data").resolve()
    return Settings(
        data_dir=data_dir,
        landing_dir=Path(env.get(LANDING_DIR_ENV) or data_dir / "landing"),
        warehouse=Path(env.get(WAREHOUSE_ENV) or data_dir / "warehouse.duckdb"),
        synthetic_data=_truthy(env.get(SYNTHETIC_ENV)),
        dbt_target=env.get(DBT_TARGET_ENV) or "duckdb",
        pseudonym_key=env.get(KEY_ENV, "").strip(),
    )
