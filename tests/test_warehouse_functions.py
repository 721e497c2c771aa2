"""The warehouse's keyed-hash function (catalog/pseudonym.py, registered in DuckDB by
dagster_project/warehouse_functions.py): values, NULL handling, where the key comes from, and
the one-line error without a key."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from catalog.pseudonym import HMAC_FUNCTION, PseudonymKeyMissing, hmac_sha256_hex, pseudonym_key
from dagster_project.warehouse_functions import Plugin, register_functions


@pytest.fixture
def conn():
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("FJORDBANK_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path))
    return tmp_path / "secrets" / "pseudonym.key"


def _expected(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_udf_is_hex_hmac_sha256_and_null_stays_null(conn):
    register_functions(conn, key=b"k1")
    values = ["02016126007", "31129956715", "æøå", ""]
    got = conn.execute(
        f"select v, {HMAC_FUNCTION}(v) from unnest(?::varchar[]) t(v) order by v",
        [values],
    ).fetchall()
    assert dict(got) == {v: _expected(v, b"k1") for v in values}
    assert conn.execute(f"select {HMAC_FUNCTION}(null::varchar)").fetchall() == [(None,)]
    assert hmac_sha256_hex(None, b"k1") is None
    assert hmac_sha256_hex("x", b"k1") == _expected("x", b"k1")


def test_udf_works_over_many_rows_and_in_cursors(conn):
    register_functions(conn, key=b"k1")
    n = 5000  # more than one vector
    distinct, nulls = (
        conn.cursor()
        .execute(
            f"select count(distinct h), count(*) - count(h) from ("
            f" select {HMAC_FUNCTION}(case when i % 7 = 0 then null else i::varchar end) as h"
            f" from range({n}) r(i))"
        )
        .fetchone()
    )
    assert (distinct, nulls) == (n - len(range(0, n, 7)), len(range(0, n, 7)))


def test_different_keys_give_different_values_and_registering_again_replaces(conn):
    register_functions(conn, key=b"k1")
    first = conn.execute(f"select {HMAC_FUNCTION}('a')").fetchall()[0][0]
    register_functions(conn, key=b"k2")
    second = conn.execute(f"select {HMAC_FUNCTION}('a')").fetchall()[0][0]
    assert first == _expected("a", b"k1") != second == _expected("a", b"k2")
    assert first != hashlib.sha256(b"a").hexdigest()


def test_key_from_environment_then_file(monkeypatch, no_key):
    no_key.parent.mkdir(parents=True)
    no_key.write_text("from-file\n")
    assert pseudonym_key() == b"from-file"
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "from-env")
    assert pseudonym_key() == b"from-env"


def test_plugin_registers_with_the_configured_key(monkeypatch, conn):
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "plugin-key")
    Plugin(name="warehouse_functions", plugin_config={}).configure_connection(conn)
    got = conn.execute(f"select {HMAC_FUNCTION}('a')").fetchall()[0][0]
    assert got == _expected("a", b"plugin-key")


@pytest.mark.parametrize("key_file_content", [None, "  \n"])
def test_missing_key_is_one_clear_line(conn, no_key, key_file_content):
    if key_file_content is not None:
        no_key.parent.mkdir(parents=True)
        no_key.write_text(key_file_content)
    with pytest.raises(PseudonymKeyMissing) as err:
        register_functions(conn)
    message = str(err.value)
    assert "\n" not in message
    assert message == (
        "no pseudonymisation key: set FJORDBANK_PSEUDONYM_KEY or create "
        f"{no_key} (make run does this)"
    )


def test_unreadable_key_file_is_one_clear_line(conn, no_key):
    no_key.mkdir(parents=True)  # a directory where the key file should be
    with pytest.raises(PseudonymKeyMissing, match=r"^cannot read the pseudonymisation key file "):
        register_functions(conn)
