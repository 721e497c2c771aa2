"""SQL functions the warehouse needs that DuckDB does not have: a keyed hash for pseudonyms.

``fjordbank_hmac_sha256(VARCHAR) -> VARCHAR`` is the hex HMAC-SHA256 of its argument under the
group's pseudonymisation key (NULL in, NULL out). The dbt macro ``keyed_hash`` calls it, so the
key never appears in SQL, in compiled models or in dbt's logs.

The key comes from ``FJORDBANK_PSEUDONYM_KEY``, else from the file
``dagster_project.project.settings().key_file``.

dbt-duckdb loads this module as a plugin (``profiles.yml``: ``plugins: [{module:
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
import hashlib
import hmac
import os
from collections.abc import Callable

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from dagster_project.project import settings

HMAC_FUNCTION = "fjordbank_hmac_sha256"
KEY_ENV = "FJORDBANK_PSEUDONYM_KEY"


class PseudonymKeyMissing(RuntimeError):
    """No pseudonymisation key is configured: the warehouse refuses to build pseudonyms."""


def pseudonym_key() -> bytes:
    """The pseudonymisation key: ``$FJORDBANK_PSEUDONYM_KEY``, else the key file's content."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env.encode()
    key_file = settings().key_file
    try:
        from_file = key_file.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        from_file = ""
    except OSError as exc:
        raise PseudonymKeyMissing(
            f"cannot read the pseudonymisation key file {key_file}: {exc.strerror}; "
            f"fix its permissions or set {KEY_ENV}"
        ) from None
    if not from_file:
        raise PseudonymKeyMissing(
            f"no pseudonymisation key: set {KEY_ENV} or create {key_file} (make run does this)"
        )
    return from_file.encode()


def _hasher(key: bytes) -> Callable[[str], str]:
    # HMAC's key schedule is done once; each value then costs one copy and two hash blocks.
    prepared = hmac.new(key, digestmod=hashlib.sha256)

    def hex_digest(value: str) -> str:
        h = prepared.copy()
        h.update(value.encode("utf-8"))
        return h.hexdigest()

    return hex_digest


def hmac_sha256_hex(value: str | None, key: bytes) -> str | None:
    """The function's value for one input, in Python (tests and checks compare against it)."""
    return None if value is None else _hasher(key)(value)


def _arrow_udf(key: bytes):
    import pyarrow as pa

    hex_digest = _hasher(key)

    # No annotations: DuckDB evaluates them and `pa` is local to this function.
    def udf(values):
        return pa.array(
            [None if v is None else hex_digest(v) for v in values.to_pylist()],
            type=pa.string(),
        )

    return udf


def _native_udf(key: bytes):
    return _hasher(key)  # DuckDB's default null handling maps NULL to NULL without a call


def register_functions(conn: duckdb.DuckDBPyConnection, key: bytes | None = None) -> None:
    """Register the warehouse functions on ``conn`` (replacing earlier registrations).

    ``key`` defaults to :func:`pseudonym_key`; a missing key raises :class:`PseudonymKeyMissing`.
    Vectorised through Arrow when pyarrow is installed, row by row otherwise.
    """
    key = pseudonym_key() if key is None else key
    if not key:
        raise PseudonymKeyMissing(
            f"no pseudonymisation key: the key given for {HMAC_FUNCTION} is empty"
        )
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


class Plugin(BasePlugin):
    """dbt-duckdb plugin: registers the warehouse functions on each new DuckDB connection."""

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register_functions(conn)
