"""Apache Spark as the warehouse: the dbt target ``spark`` (``make run TARGET=spark``).

By default Spark runs in-process (dbt-spark's ``session`` method): :func:`spark_session` starts
one local Spark per process with the platform's confs (no network: UI off, driver bound to
127.0.0.1; a Derby metastore and the warehouse dir under ``FJORDBANK_DATA_DIR``; nothing is
downloaded) and registers the keyed hash ``fjordbank_hmac_sha256`` (:mod:`catalog.pseudonym`)
as a Python UDF. dbt-spark's session connection calls ``SparkSession.builder.getOrCreate()``,
so dbt run in the same process (``dagster_project.project.run_dbt``) sees that session and the
UDF.

Why a UDF and not HMAC in Spark SQL: HMAC-SHA256 in SQL needs ``key XOR ipad`` and
``key XOR opad`` as literals in every compiled model, which puts key material in ``target/``,
in dbt's logs and in Spark's query plans. The UDF keeps the key in the process (it travels to
Spark's Python workers inside the pickled function, never in SQL). The price: dbt on Spark must
run in the process that registered the UDF (a stand-alone ``dbt build --target spark`` fails
closed on an unknown function), and a cluster needs a permanent function of the same name.

Ingest keeps one validator: landing files are validated into the DuckDB file
(``settings().warehouse``, the staging area), then :func:`load_raw_table` copies the accepted rows
(Parquet) into ``raw_<source>.<table>`` in Spark, with the contract's column types.

A Spark standalone cluster (``make spark-cluster``, :mod:`dagster_project.spark_cluster`) is
``FJORDBANK_SPARK_MASTER=spark://127.0.0.1:7077``: the driver stays in this process (still the
session method), the executors run on the workers and the UDF in their Python workers (the venv's
python, :func:`_cluster_conf`); a master that does not answer fails closed in one line.

The Spark connection's own settings are read here, not in :mod:`catalog.settings`:
``FJORDBANK_SPARK_METHOD`` (dbt-spark's method) and ``FJORDBANK_SPARK_MASTER`` (the local
session's master); the other ``FJORDBANK_SPARK_*`` are read by ``dbt/profiles.yml`` only.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot

from catalog.pseudonym import HMAC_FUNCTION, hmac_sha256_hex, require_key
from catalog.retention.purge import QUARANTINE as QUARANTINE_TABLE
from catalog.settings import Settings, settings
from dagster_project.landing.contract import table as contract_table

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

SPARK_TARGET = "spark"
METHOD_ENV = "FJORDBANK_SPARK_METHOD"
MASTER_ENV = "FJORDBANK_SPARK_MASTER"
CONF_ENV = "FJORDBANK_SPARK_CONF"

_sessions: dict[Path, SparkSession] = {}
# The Hive metastore of the process's first session: Spark's Hive client and Derby stay bound to
# it for the life of the JVM (a later session with another metastore sees the first one's
# databases and fails to create tables in them), so a process serves one data dir.
_bound_metastore: list[Path] = []


class SparkUnavailable(RuntimeError):
    """The Spark target cannot run here (extra not installed, or not the session method)."""


def is_spark(target: str | None) -> bool:
    """True when the dbt target is the Spark one."""
    return target == SPARK_TARGET


def spark_method() -> str:
    """dbt-spark's connection method: ``session`` (default), ``thrift`` or ``http``."""
    return (os.environ.get(METHOD_ENV) or "session").strip().lower()


def spark_conf(s: Settings | None = None) -> dict[str, str]:
    """The confs of the local Spark session (also handed to dbt-spark's profile)."""
    s = s or settings()
    metastore = s.spark_metastore_dir
    master = (os.environ.get(MASTER_ENV) or "local[2]").strip()
    return {
        "spark.master": master,
        "spark.app.name": "fjordbank",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",  # no stage bars over the run's own progress
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(s.spark_warehouse_dir),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={metastore}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",  # dbt-spark sets it too: NULL, not errors, on casts
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.sources.default": "parquet",
        **(_cluster_conf() if is_standalone(master) else {}),
    }


def is_standalone(master: str) -> bool:
    """True when ``master`` is a Spark standalone cluster (``spark://host:port``)."""
    return master.startswith("spark://")


def _cluster_conf() -> dict[str, str]:
    """Executors on a standalone cluster (``make spark-cluster``): one core each, small memory,
    and this interpreter for the Python workers that run the keyed hash (the cluster is on this
    machine, so the venv's python and the editable install of ``catalog`` are there too)."""
    return {
        "spark.executor.cores": "1",
        "spark.executor.memory": "768m",
        "spark.cores.max": "2",
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # the Python workers import catalog.pseudonym (the pickled UDF refers to it by name)
        "spark.executorEnv.PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


def export_spark_environment(s: Settings | None = None) -> None:
    """Put the session confs where the profile reads them (``FJORDBANK_SPARK_CONF``)."""
    s = s or settings()
    if spark_method() == "session":
        os.environ[CONF_ENV] = repr(spark_conf(s))
    else:
        os.environ.setdefault(CONF_ENV, "{}")


def spark_session(s: Settings | None = None) -> SparkSession:
    """The local Spark session of this data dir, created once per process, with the keyed hash
    registered. Raises :class:`SparkUnavailable` (one line) when Spark cannot run here."""
    s = s or settings()
    if spark_method() != "session":
        raise SparkUnavailable(
            f"{METHOD_ENV}={spark_method()}: the platform loads and checks data only through a "
            "local Spark session; unset it (or set it to session), or load the raw tables on "
            "the cluster"
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the spark target needs the spark extra: run .venv/bin/pip install -e '.[spark]' "
            "(or make test-spark)"
        ) from None
    key = s.spark_warehouse_dir
    if key in _sessions:
        return _sessions[key]
    if _bound_metastore and _bound_metastore[0] != s.spark_metastore_dir:
        raise SparkUnavailable(
            f"this process already ran Spark on the metastore {_bound_metastore[0]}, and Spark's "
            f"Hive client stays bound to it; run the data dir {s.data_dir} in a new process "
            "(make test-spark runs each test module in its own)"
        )
    for other in list(_sessions.values()):  # stopped: a session of this data dir again
        other.stop()
    _sessions.clear()
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = spark_conf(s)
    if is_standalone(conf["spark.master"]):
        _require_master(conf["spark.master"])
    export_spark_environment(s)
    s.spark_metastore_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for name, value in conf.items():
        builder = builder.config(name, value)
    session = builder.enableHiveSupport().getOrCreate()
    if not _bound_metastore:
        _bound_metastore.append(s.spark_metastore_dir)
    session.sparkContext.setLogLevel("ERROR")
    register_functions(session)
    _sessions[key] = session
    return session


def _require_master(master: str) -> None:
    """Fail closed, in one line, when no standalone master answers at ``master`` (Spark itself
    would retry for a minute and then wait for executors that never come)."""
    address = master.removeprefix("spark://").split(",")[0]
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except (OSError, ValueError):
        pass
    raise SparkUnavailable(
        f"{MASTER_ENV}={master}: no Spark master answers there; start one with "
        "make spark-cluster, or unset it for a local Spark"
    )


def stop_spark() -> None:
    """Stop the process's Spark session (tests, benchmarks)."""
    for session in list(_sessions.values()):
        session.stop()
    _sessions.clear()


# --- the keyed hash ------------------------------------------------------------------------


def register_functions(session: SparkSession, key: bytes | None = None) -> None:
    """Register ``fjordbank_hmac_sha256(string) -> string`` in ``session`` (temporary function).

    ``key`` defaults to the pseudonymisation key; a missing or empty key raises
    :class:`catalog.pseudonym.PseudonymKeyMissing`.
    """
    from pyspark.sql.types import StringType

    key = require_key(key)
    session.udf.register(HMAC_FUNCTION, partial(hmac_sha256_hex, key=key), StringType())


# --- raw tables -----------------------------------------------------------------------------


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB column type (``TIMESTAMPTZ`` -> ``TIMESTAMP`` ...)."""
    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def load_raw_table(
    session: SparkSession,
    conn: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    s: Settings | None = None,
) -> int:
    """Copy the validated ``raw_<source>.<table>`` of the DuckDB staging file into the Spark table
    of the same name (replaced), with the contract's columns and types, and the quarantine rows
    into ``quarantine.rejected_rows``. Returns the rows loaded."""
    from dagster_project.landing.load import METADATA_COLUMNS

    s = s or settings()
    contract = contract_table(source, table)
    columns = [(c.name, c.type.duckdb_type) for c in contract.columns] + list(METADATA_COLUMNS)
    database = f"raw_{source}"
    export = s.spark_staging_dir / database / f"{table}.parquet"
    export.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f'copy (select * from "{database}"."{table}") to \'{_sql_path(export)}\' (format parquet)'
    )
    session.sql(f"create database if not exists {_ident(database)}")
    frame = session.read.parquet(str(export)).selectExpr(
        *(f"cast({_ident(n)} as {spark_type(t)}) as {_ident(n)}" for n, t in columns)
    )
    frame.write.mode("overwrite").format("parquet").saveAsTable(
        f"{_ident(database)}.{_ident(table)}"
    )
    _load_quarantine(session, conn, s)
    return session.table(f"{_ident(database)}.{_ident(table)}").count()


def _load_quarantine(session: SparkSession, conn: duckdb.DuckDBPyConnection, s: Settings) -> None:
    export = s.spark_staging_dir / "quarantine" / "rejected_rows.parquet"
    export.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(
        'copy (select source, "table", file, line, reason, cast(record as varchar) as record '
        f"from quarantine.rejected_rows) to '{_sql_path(export)}' (format parquet)"
    )
    session.sql("create database if not exists quarantine")
    session.read.parquet(str(export)).write.mode("overwrite").format("parquet").saveAsTable(
        QUARANTINE_TABLE
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --- queries --------------------------------------------------------------------------------


def transpile(sql: str) -> str:
    """DuckDB-dialect SQL (the platform's check queries) as Spark SQL."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def scalar(session: SparkSession, duckdb_sql: str) -> Any:
    """The first value of a DuckDB-dialect query run on Spark."""
    row = session.sql(transpile(duckdb_sql)).first()
    return None if row is None else row[0]


def table_counts(session: SparkSession) -> list[tuple[str, str, int]]:
    """(database, table, rows) of every table in the Spark catalog, ordered."""
    out = []
    for db in sorted(d.name for d in session.catalog.listDatabases()):
        for t in sorted(session.catalog.listTables(db), key=lambda t: t.name):
            if t.tableType == "VIEW" or t.isTemporary:
                continue
            n = session.table(f"{_ident(db)}.{_ident(t.name)}").count()
            out.append((db, t.name, n))
    return out
