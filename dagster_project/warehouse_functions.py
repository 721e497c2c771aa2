"""The keyed hash in DuckDB: ``fjordbank_hmac_sha256(VARCHAR) -> VARCHAR`` on a connection.

The function, its key and its values are :mod:`catalog.pseudonym`'s; this module only registers
it in DuckDB. dbt-duckdb loads it as a plugin (``profiles.yml``: ``plugins: [{module:
dagster_project.warehouse_functions}]``) and calls :meth:`Plugin.configure_connection` on every
new connection. Code that runs compiled SQL in its own DuckDB connection calls
:func:`register_functions`:

>>> import duckdb
>>> conn = duckdb.connect()
>>> register_functions(conn, key=b"example")
>>> conn.execute("select fjordbank_hmac_sha256('a')").fetchall()[0][0][:16]
'4a7e52deba0676d4'
"""

from __future__ import annotations

import contextlib

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from catalog.pseudonym import HMAC_FUNCTION, hasher, require_key


def _arrow_udf(key: bytes):
    import pyarrow as pa

    hex_digest = hasher(key)

    # No annotations: DuckDB evaluates them and `pa` is local to this function.
    def udf(values):
        return pa.array(
            [None if v is None else hex_digest(v) for v in values.to_pylist()],
            type=pa.string(),
        )

    return udf


def _native_udf(key: bytes):
    return hasher(key)  # DuckDB's default null handling maps NULL to NULL without a call


def register_functions(conn: duckdb.DuckDBPyConnection, key: bytes | None = None) -> None:
    """Register the warehouse functions on ``conn`` (replacing earlier registrations).

    ``key`` defaults to :func:`catalog.pseudonym.pseudonym_key`; a missing or empty key raises
    :class:`catalog.pseudonym.PseudonymKeyMissing`. Vectorised through Arrow when pyarrow is
    installed, row by row otherwise.
    """
    key = require_key(key)
    with contextlib.suppress(duckdb.InvalidInputException):  # not registered yet
        conn.remove_function(HMAC_FUNCTION)
    varchar = duckdb.sqltype("VARCHAR")
    try:
        udf, udf_type = _arrow_udf(key), "arrow"
    except ImportError:
        udf, udf_type = _native_udf(key), "native"
    conn.create_function(
        HMAC_FUNCTION,
        udf,
        [varchar],
        varchar,
        type=udf_type,
        null_handling="special" if udf_type == "arrow" else "default",
        side_effects=False,
    )


def register_native_hmac(conn: duckdb.DuckDBPyConnection, key: bytes | None = None) -> None:
    """Define :data:`HMAC_FUNCTION` on ``conn`` as a temporary SQL macro computed by DuckDB's
    own SHA-256 (:func:`catalog.pseudonym.duckdb_keyed_hash`), the padded keys held in session
    variables set through bound parameters (never in SQL text). Same values as
    :func:`register_functions`, NULL in NULL out, about twice as fast and on every core: for the
    platform's own queries over millions of rows on a connection of its own (the row checks),
    and dbt's cursors (:meth:`Plugin.configure_cursor`). A temporary macro lives on its
    connection only, not on cursors made from it: each cursor gets its own.

    >>> conn = duckdb.connect()
    >>> register_native_hmac(conn, key=b"example")
    >>> conn.execute("select fjordbank_hmac_sha256('a')").fetchall()[0][0][:16]
    '4a7e52deba0676d4'
    """
    from catalog.pseudonym import duckdb_keyed_hash, hmac_pads

    ipad, opad = hmac_pads(require_key(key))
    conn.execute("set variable fjordbank_hmac_ipad = $1", [ipad])
    conn.execute("set variable fjordbank_hmac_opad = $1", [opad])
    body = duckdb_keyed_hash(
        "cast(v as varchar)",
        "getvariable('fjordbank_hmac_ipad')",
        "getvariable('fjordbank_hmac_opad')",
    )
    conn.execute(f"create or replace temp macro {HMAC_FUNCTION}(v) as {body}")


def apply_duckdb_settings(conn: duckdb.DuckDBPyConnection, config: dict[str, str | int]) -> None:
    """Set DuckDB's working memory and threads (:attr:`catalog.settings.Settings.duckdb_config`)
    on ``conn``'s database, with ``SET`` rather than ``connect(config=...)``: DuckDB refuses a
    second connection to an open file with another config, and a test or a shell may hold one.

    >>> conn = duckdb.connect()
    >>> apply_duckdb_settings(conn, {"memory_limit": "512MB", "threads": 1})
    >>> conn.execute("select current_setting('threads')").fetchone()[0]
    1
    """
    for name, value in config.items():
        conn.execute(
            f"set {name} = '{value}'" if isinstance(value, str) else f"set {name} = {value}"
        )


class Plugin(BasePlugin):
    """dbt-duckdb plugin: on each new DuckDB connection, registers the warehouse functions and
    sets DuckDB's working memory and threads (``FJORDBANK_DUCKDB_MEMORY_LIMIT``,
    ``FJORDBANK_DUCKDB_THREADS``; :attr:`catalog.settings.Settings.duckdb_config`); on each
    cursor dbt takes from it, defines the keyed hash in SQL."""

    _key: bytes | None = None  # read once, by configure_connection

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        from catalog.settings import settings

        apply_duckdb_settings(conn, settings().duckdb_config)
        self._key = require_key()
        register_functions(conn, self._key)

    def configure_cursor(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """dbt runs every statement on a cursor of the connection (its own DuckDB session):
        there the keyed hash is :func:`register_native_hmac`'s macro, which shadows the
        connection's Python function with the same values, computed by DuckDB on every core
        rather than row by row under the GIL (about 2.7 times faster over 1,000,000 values).
        The key is the connection's, not read again for each cursor."""
        register_native_hmac(cursor, self._key)
