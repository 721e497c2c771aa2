"""Pseudonyms: the group's pseudonymisation key and the keyed hash made with it.

A pseudonym is the lower-case hex HMAC-SHA256 of a value's UTF-8 text under the key. The
warehouse computes it with the SQL function :data:`HMAC_FUNCTION` (``fjordbank_hmac_sha256``,
NULL in, NULL out), which the dbt macro ``keyed_hash`` calls, so the key never appears in SQL,
in compiled models or in dbt's logs. Each engine registers that function from here: DuckDB in
``dagster_project/warehouse_functions.py``, Spark in ``dagster_project/spark.py``; the access
report computes the same values in Python.

The key is ``$FJORDBANK_PSEUDONYM_KEY``, else the content of the key file
(``settings().key_file``, ``$FJORDBANK_DATA_DIR/secrets/pseudonym.key``), both stripped.

>>> hmac_sha256_hex("a", b"example")[:16]
'4a7e52deba0676d4'
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from catalog.settings import KEY_ENV, settings

HMAC_FUNCTION = "fjordbank_hmac_sha256"


class PseudonymKeyMissing(RuntimeError):
    """No usable pseudonymisation key: pseudonyms cannot be computed (one line, what to do)."""


def configured_key(key_file: Path | None = None) -> bytes | None:
    """The key: ``$FJORDBANK_PSEUDONYM_KEY``, else the content of ``key_file`` (default:
    ``settings().key_file``); None when neither holds one (no file, or an empty one).

    A key file that is there but cannot be read raises :class:`PseudonymKeyMissing`.
    """
    s = settings()
    if s.pseudonym_key:
        return s.pseudonym_key.encode()
    path = key_file or s.key_file
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise PseudonymKeyMissing(
            f"cannot read the pseudonymisation key file {path}: {exc.strerror}; "
            f"fix its permissions or set {KEY_ENV}"
        ) from None
    return text.encode() if text else None


def pseudonym_key(key_file: Path | None = None) -> bytes:
    """The key (see :func:`configured_key`); :class:`PseudonymKeyMissing` when there is none."""
    key = configured_key(key_file)
    if key is None:
        path = key_file or settings().key_file
        raise PseudonymKeyMissing(
            f"no pseudonymisation key: set {KEY_ENV} or create {path} (make run does this)"
        )
    return key


def require_key(key: bytes | None = None) -> bytes:
    """``key``, or :func:`pseudonym_key` when it is None; an empty key raises
    :class:`PseudonymKeyMissing` (an engine registering :data:`HMAC_FUNCTION` calls this)."""
    key = pseudonym_key() if key is None else key
    if not key:
        raise PseudonymKeyMissing(
            f"no pseudonymisation key: the key given for {HMAC_FUNCTION} is empty"
        )
    return key


def hasher(key: bytes) -> Callable[[str], str]:
    """The keyed hash of one text under ``key``, with HMAC's key schedule done once (each value
    then costs one copy and two hash blocks)."""
    prepared = hmac.new(key, digestmod=hashlib.sha256)

    def hex_digest(value: str) -> str:
        h = prepared.copy()
        h.update(value.encode("utf-8"))
        return h.hexdigest()

    return hex_digest


def hmac_sha256_hex(value: str | None, key: bytes) -> str | None:
    """The pseudonym of one value under ``key``: what :data:`HMAC_FUNCTION` returns for it."""
    return None if value is None else hasher(key)(value)


_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys for ``key`` (RFC 2104: a key longer than a
    block is hashed first, then zero-filled to a block and XORed with 0x36 and 0x5c)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def duckdb_keyed_hash(expr: str, ipad: str = "$hmac_ipad", opad: str = "$hmac_opad") -> str:
    """DuckDB SQL for the pseudonym of the VARCHAR ``expr``, computed by DuckDB's own SHA-256
    over all values at once: ``sha256(opad || sha256(ipad || text))``. The padded keys
    (:func:`hmac_pads`) are bound as BLOB parameters named by ``ipad`` and ``opad``, so the key
    is in no SQL text. For the platform's bulk work: the suppression at ingest, and through
    ``register_native_hmac`` (``dagster_project/warehouse_functions.py``) the row checks and
    dbt's models, whose cursors define :data:`HMAC_FUNCTION` with it.

    >>> import duckdb
    >>> ipad, opad = hmac_pads(b"example")
    >>> sql = f"select {duckdb_keyed_hash('$v')}"
    >>> duckdb.execute(sql, {"v": "a", "hmac_ipad": ipad, "hmac_opad": opad}).fetchone()[0][:16]
    '4a7e52deba0676d4'
    """
    return f"sha256({opad} || unhex(sha256({ipad} || encode({expr}))))"
