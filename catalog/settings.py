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
| ``FJORDBANK_LINEAGE_PORT``     | ``3001``: the lineage page's server next to ``make ui``  |
| ``FJORDBANK_OPENLINEAGE_MAX_BYTES`` | ``50MB``: the events file's rotation size (0: none) |
| ``FJORDBANK_OPENLINEAGE_DAILY`` | ``false``: also rotate it on the first event of a new day |
| ``FJORDBANK_OPENLINEAGE_KEEP`` | ``5``: rotated events files kept (the oldest are deleted) |
| ``FJORDBANK_WAREHOUSE_WAIT``   | ``60``: seconds a run's connection retries on a held file |
| ``FJORDBANK_DUCKDB_MEMORY_LIMIT`` | ``40%``: DuckDB's working memory on warehouse connections |
| ``FJORDBANK_DUCKDB_THREADS``   | the machine's cores: DuckDB's threads on those connections |

The last seven are parsed when used (:attr:`Settings.lineage_port`,
:attr:`Settings.openlineage_rotation`, :attr:`Settings.warehouse_wait`,
:attr:`Settings.duckdb_config`): a malformed value
raises :class:`SettingsError`, one line naming the variable and what it accepts, in the
command that needs it.

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
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DATA_DIR_ENV = "FJORDBANK_DATA_DIR"
LANDING_DIR_ENV = "FJORDBANK_LANDING_DIR"
WAREHOUSE_ENV = "FJORDBANK_WAREHOUSE"
SYNTHETIC_ENV = "FJORDBANK_SYNTHETIC_DATA"
KEY_ENV = "FJORDBANK_PSEUDONYM_KEY"
DBT_TARGET_ENV = "DBT_TARGET"
WAREHOUSE_WAIT_ENV = "FJORDBANK_WAREHOUSE_WAIT"
LINEAGE_PORT_ENV = "FJORDBANK_LINEAGE_PORT"
OPENLINEAGE_MAX_BYTES_ENV = "FJORDBANK_OPENLINEAGE_MAX_BYTES"
OPENLINEAGE_DAILY_ENV = "FJORDBANK_OPENLINEAGE_DAILY"
OPENLINEAGE_KEEP_ENV = "FJORDBANK_OPENLINEAGE_KEEP"
DUCKDB_MEMORY_LIMIT_ENV = "FJORDBANK_DUCKDB_MEMORY_LIMIT"
DUCKDB_THREADS_ENV = "FJORDBANK_DUCKDB_THREADS"

DEFAULT_LINEAGE_PORT = 3001
DEFAULT_WAREHOUSE_WAIT = 60.0
DEFAULT_OPENLINEAGE_MAX_BYTES = 50_000_000
DEFAULT_OPENLINEAGE_KEEP = 5
# DuckDB's own default is 80% of the machine's memory, which leaves nothing for the Python
# around it (Dagster, dbt, the lineage) nor for a second process; 40% keeps a run's resident
# peak near half the machine and spills the rest beside the warehouse file.
DEFAULT_DUCKDB_MEMORY_LIMIT = "40%"
_DUCKDB_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(%|kb|mb|gb|tb|kib|mib|gib|tib)", re.IGNORECASE)
_SIZE = re.compile(r"(\d+)\s*(|b|kb|mb|gb|kib|mib|gib)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30}


class SettingsError(ValueError):
    """A setting's value is malformed; the message is one line naming the variable."""


@dataclass(frozen=True)
class OpenLineageRotation:
    """When the default events file is rotated, and how many rotated files are kept."""

    max_bytes: int = DEFAULT_OPENLINEAGE_MAX_BYTES  # 0: no size limit
    daily: bool = False
    keep: int = DEFAULT_OPENLINEAGE_KEEP  # at least 1


def _size(name: str, value: str) -> int:
    """``value`` in bytes: a whole number, optionally with a unit.

    >>> _size("X", "50MB"), _size("X", "1 KiB"), _size("X", "0")
    (50000000, 1024, 0)
    """
    m = _SIZE.fullmatch(value.strip())
    if not m:
        raise SettingsError(
            f"{name}={value!r} is not a size: give bytes, or a number with kB, MB, GB, KiB, MiB "
            "or GiB (0: no limit), e.g. 50MB"
        )
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def _whole(name: str, value: str, low: int, high: int, what: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingsError(f"{name}={value!r}: expected {what}, a whole number {low}-{high}")
    return number


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
    # Raw values, parsed when used (properties below): a malformed one fails only its command.
    lineage_port_value: str = ""
    openlineage_max_bytes_value: str = ""
    openlineage_daily_value: str = ""
    openlineage_keep_value: str = ""
    warehouse_wait_value: str = ""
    duckdb_memory_limit_value: str = ""
    duckdb_threads_value: str = ""

    @property
    def duckdb_config(self) -> dict[str, str | int]:
        """DuckDB's working memory and threads on every warehouse connection of a run (the
        ingest's, dbt's through the warehouse plugin, the checks'): ``memory_limit`` from
        ``$FJORDBANK_DUCKDB_MEMORY_LIMIT`` (a size such as ``6GB``, or a share of the machine's
        memory such as ``40%``, the default) and ``threads`` from ``$FJORDBANK_DUCKDB_THREADS``
        (default: the machine's cores). What does not fit spills to ``<warehouse>.tmp`` beside
        the warehouse file (DuckDB's default for a database file), removed when the connection
        closes.

        >>> Settings(Path("d"), Path("l"), Path("w"), False, "duckdb",
        ...          duckdb_memory_limit_value="6GB", duckdb_threads_value="2").duckdb_config
        {'memory_limit': '6GB', 'threads': 2}
        """
        raw = self.duckdb_memory_limit_value.strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
        m = _DUCKDB_MEMORY.fullmatch(raw)
        if not m or float(m.group(1)) <= 0 or (m.group(2) == "%" and float(m.group(1)) > 95):
            raise SettingsError(
                f"{DUCKDB_MEMORY_LIMIT_ENV}={raw!r}: expected a size such as 6GB or 512MB, or a "
                "share of the machine's memory from 1% to 95%"
            )
        threads = os.cpu_count() or 1
        if self.duckdb_threads_value.strip():
            threads = _whole(DUCKDB_THREADS_ENV, self.duckdb_threads_value, 1, 1024, "threads")
        return {"memory_limit": m.group(1) + m.group(2).upper(), "threads": threads}

    @property
    def warehouse_wait(self) -> float:
        """Seconds a run's warehouse connection retries while another process holds the file
        (``$FJORDBANK_WAREHOUSE_WAIT``, default 60)."""
        raw = self.warehouse_wait_value.strip()
        try:
            seconds = float(raw) if raw else DEFAULT_WAREHOUSE_WAIT
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 86_400:  # also NaN
            raise SettingsError(
                f"{WAREHOUSE_WAIT_ENV}={raw!r}: expected seconds to wait, a number 0-86400"
            )
        return seconds

    @property
    def lineage_port(self) -> int:
        """The port of the lineage page's server on 127.0.0.1 (``$FJORDBANK_LINEAGE_PORT``)."""
        if not self.lineage_port_value.strip():
            return DEFAULT_LINEAGE_PORT
        return _whole(LINEAGE_PORT_ENV, self.lineage_port_value, 1, 65535, "a TCP port")

    @property
    def openlineage_rotation(self) -> OpenLineageRotation:
        """When ``<data dir>/openlineage/events.jsonl`` is rotated, and how many are kept."""
        max_bytes = DEFAULT_OPENLINEAGE_MAX_BYTES
        if self.openlineage_max_bytes_value.strip():
            max_bytes = _size(OPENLINEAGE_MAX_BYTES_ENV, self.openlineage_max_bytes_value)
        keep = DEFAULT_OPENLINEAGE_KEEP
        if self.openlineage_keep_value.strip():
            keep = _whole(
                OPENLINEAGE_KEEP_ENV, self.openlineage_keep_value, 1, 100_000, "files to keep"
            )
        daily = self.openlineage_daily_value.strip().lower()
        if daily not in {"", "1", "true", "yes", "on", "0", "false", "no", "off"}:
            raise SettingsError(
                f"{OPENLINEAGE_DAILY_ENV}={self.openlineage_daily_value!r}: expected true or false"
            )
        return OpenLineageRotation(max_bytes=max_bytes, daily=_truthy(daily), keep=keep)

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
    def file_quarantine_dir(self) -> Path:
        """Delivery files that cannot be read, set aside by the ingest
        (``catalog/file_quarantine.py``)."""
        return self.data_dir / "quarantine" / "files"

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
        lineage_port_value=env.get(LINEAGE_PORT_ENV, ""),
        openlineage_max_bytes_value=env.get(OPENLINEAGE_MAX_BYTES_ENV, ""),
        openlineage_daily_value=env.get(OPENLINEAGE_DAILY_ENV, ""),
        openlineage_keep_value=env.get(OPENLINEAGE_KEEP_ENV, ""),
        warehouse_wait_value=env.get(WAREHOUSE_WAIT_ENV, ""),
        duckdb_memory_limit_value=env.get(DUCKDB_MEMORY_LIMIT_ENV, ""),
        duckdb_threads_value=env.get(DUCKDB_THREADS_ENV, ""),
    )
