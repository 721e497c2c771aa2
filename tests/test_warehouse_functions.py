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


# -- DuckDB's working memory and threads ------------------------------------------------------


def _setting(conn, name: str):
    return conn.execute(f"select current_setting('{name}')").fetchone()[0]


def test_the_plugin_sets_the_configured_memory_limit_and_threads(monkeypatch, conn):
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "plugin-key")
    monkeypatch.setenv("FJORDBANK_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("FJORDBANK_DUCKDB_THREADS", "1")
    Plugin(name="warehouse_functions", plugin_config={}).configure_connection(conn)
    assert _setting(conn, "memory_limit") == "286.1 MiB"  # 300 MB in DuckDB's binary units
    assert _setting(conn, "threads") == 1


def test_the_default_memory_limit_is_a_share_of_the_machine_not_duckdbs_80_percent(
    monkeypatch, conn
):
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "plugin-key")
    monkeypatch.delenv("FJORDBANK_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("FJORDBANK_DUCKDB_THREADS", raising=False)
    default = _setting(duckdb.connect(), "memory_limit")  # DuckDB's own: 80%
    Plugin(name="warehouse_functions", plugin_config={}).configure_connection(conn)
    ours = _setting(conn, "memory_limit")

    def gib(text: str) -> float:
        number, unit = text.split()
        return float(number) * {"MiB": 1 / 1024, "GiB": 1.0, "TiB": 1024.0}[unit]

    assert gib(ours) == pytest.approx(gib(default) / 2, rel=0.02)  # 40% of the machine


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("FJORDBANK_DUCKDB_MEMORY_LIMIT", "lots", "expected a size such as 6GB"),
        ("FJORDBANK_DUCKDB_MEMORY_LIMIT", "99%", "from 1% to 95%"),
        ("FJORDBANK_DUCKDB_MEMORY_LIMIT", "0GB", "expected a size such as 6GB"),
        ("FJORDBANK_DUCKDB_THREADS", "0", "expected threads"),
    ],
)
def test_a_malformed_duckdb_setting_is_one_line_naming_the_variable(
    monkeypatch, variable, value, says
):
    from catalog.settings import SettingsError, settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        _ = settings().duckdb_config
    message = str(caught.value)
    assert message.startswith(f"{variable}={value!r}") and says in message
    assert "\n" not in message


def test_a_runs_warehouse_connection_has_the_configured_memory_limit(monkeypatch, tmp_path):
    from dagster_project.resources import Warehouse

    monkeypatch.setenv("FJORDBANK_DUCKDB_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("FJORDBANK_DUCKDB_THREADS", "1")
    with Warehouse(path=str(tmp_path / "w.duckdb")).connect() as c:
        assert (_setting(c, "memory_limit"), _setting(c, "threads")) == ("1.0 GiB", 1)
    monkeypatch.setenv("FJORDBANK_DUCKDB_MEMORY_LIMIT", "much")
    import dagster as dg

    with pytest.raises(dg.Failure) as caught, Warehouse(path=str(tmp_path / "w.duckdb")).connect():
        pass
    assert "FJORDBANK_DUCKDB_MEMORY_LIMIT" in caught.value.description


def test_duckdb_keyed_hash_is_hmac_for_any_key_and_text(conn):
    """The suppression's SQL HMAC (DuckDB's own SHA-256, padded keys as parameters) gives
    Python's ``hmac`` value for keys shorter than, as long as and longer than a block, and for
    empty, ASCII, Nordic, emoji and long texts."""
    import random

    from catalog.pseudonym import duckdb_keyed_hash, hmac_pads

    rng = random.Random(7)
    alphabet = "abc019 -æøåÆØÅé€\u0000\U0001f600"
    texts = ["", "02016126007", "æøå", "x" * 200] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80))) for _ in range(300)
    ]
    for key in (b"k", b"k1" * 32, b"k" * 65, bytes(rng.randrange(256) for _ in range(200))):
        ipad, opad = hmac_pads(key)
        got = conn.execute(
            f"select v, {duckdb_keyed_hash('v')} from unnest($texts::varchar[]) t(v)",
            {"texts": texts, "hmac_ipad": ipad, "hmac_opad": opad},
        ).fetchall()
        assert got == [(t, _expected(t, key)) for t in texts], key
        assert key not in duckdb_keyed_hash("v").encode()  # the key is bound, never in the SQL


def test_suppression_finds_exactly_the_erased_values_in_sql(conn):
    from catalog.erasure.suppression import Suppression, SuppressionMatcher

    key = b"suppression-key"
    erased = ["02016126007", "æøå-1"]
    s = Suppression()
    s.add({}, {"national:nid": {_expected(v, key) for v in erased}, "other": {"ff"}})
    matcher = SuppressionMatcher(s, key)
    conn.execute(
        "create table t as select * from (values ('02016126007'), ('31129956715'), "
        "('æøå-1'), ('æøå-1'), (null)) v(id)"
    )
    query = "select id from t where id <> $skip"
    assert matcher.erased_values(conn, "national:nid", query, {"skip": "x"}) == sorted(erased)
    assert matcher.erased_values(conn, "national:nid", query, {"skip": "æøå-1"}) == [erased[0]]
    assert matcher.erased_values(conn, "other", query, {"skip": "x"}) == []
    assert matcher.erased_values(conn, "unknown", query, {"skip": "x"}) == []


def test_native_hmac_macro_gives_the_udf_values_and_keeps_null(conn):
    """The row checks' macro (DuckDB's own SHA-256) and the registered function agree on every
    value, NULL stays NULL, and the key is in no catalogued SQL of the connection."""
    from dagster_project.warehouse_functions import register_native_hmac

    key = b"k1" * 40  # longer than a block: hashed first, as HMAC does
    values = ["02016126007", "æøå", "", None, "x" * 300]
    reference = duckdb.connect()
    register_functions(reference, key=key)
    register_native_hmac(conn, key=key)
    query = f"select v, {HMAC_FUNCTION}(v) from unnest(?::varchar[]) t(v) order by v"
    assert conn.execute(query, [values]).fetchall() == reference.execute(query, [values]).fetchall()
    assert conn.execute(f"select {HMAC_FUNCTION}(42)").fetchone()[0] == _expected("42", key)
    from catalog.pseudonym import hmac_pads

    (macro,) = conn.execute(
        "select macro_definition from duckdb_functions() where function_name = ?",
        [HMAC_FUNCTION],
    ).fetchone()
    assert "getvariable" in macro
    for secret in (key, *hmac_pads(key)):
        assert secret.hex() not in macro.lower() and repr(secret)[2:20] not in macro
    with pytest.raises(PseudonymKeyMissing):
        register_native_hmac(conn, key=b"")


def test_dbts_cursors_hash_with_the_macro_and_the_same_values(monkeypatch, conn):
    """dbt runs every statement on a cursor of the plugin's connection: there the keyed hash is
    DuckDB's macro, shadowing the connection's Python function with the same values."""
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "plugin-key")
    plugin = Plugin(name="warehouse_functions", plugin_config={})
    plugin.configure_connection(conn)
    cursor = conn.cursor()
    plugin.configure_cursor(cursor)
    kinds = {
        t
        for (t,) in cursor.execute(
            "select function_type from duckdb_functions() where function_name = ?",
            [HMAC_FUNCTION],
        ).fetchall()
    }
    assert "macro" in kinds, kinds
    values = ["02016126007", "a", None]
    query = f"select v, {HMAC_FUNCTION}(v) from unnest(?::varchar[]) t(v) order by v"
    assert cursor.execute(query, [values]).fetchall() == conn.execute(query, [values]).fetchall()
    assert cursor.execute(f"select {HMAC_FUNCTION}('a')").fetchone()[0] == _expected(
        "a", b"plugin-key"
    )
