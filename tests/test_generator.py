"""The synthetic generator: layout, formats, identity numbers, keys, determinism, overlaps."""

from __future__ import annotations

import datetime as dt
import filecmp
import ipaddress
import re
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from catalog import national_id
from dagster_project.landing import _queries
from dagster_project.landing._names import POSTCODES
from dagster_project.landing.contract import CONTRACT, TABLES, ColumnType, Table
from dagster_project.landing.generate import _check_all_numbered, generate

PERSONS = 1500
SEED = 11
AS_OF = dt.date(2026, 3, 29)  # the day Norway moves to summer time: both offsets occur
YESTERDAY = AS_OF - dt.timedelta(days=1)

WIRE_PATTERNS = {
    ColumnType.INTEGER: r"-?[0-9]+",
    ColumnType.DECIMAL: r"-?[0-9]+\.[0-9]{2}",
    ColumnType.BOOLEAN: r"true|false",
    ColumnType.DATE: r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    ColumnType.TIMESTAMP: r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:00",
    ColumnType.NATIONAL_ID: r"[0-9]{11}",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    counts = generate(out, persons=PERSONS, seed=SEED, as_of=AS_OF, progress=False)
    assert set(counts) == {f"{t.source}.{t.name}" for t in TABLES}
    return out


@pytest.fixture(scope="module")
def db(landing: Path):
    """Every delivery file as a table of text columns named <source>__<table>."""
    con = duckdb.connect()
    for t in TABLES:
        files = sorted((landing / t.source / t.name).glob("*.csv"))
        paths = ", ".join(f"'{f}'" for f in files)
        con.execute(
            f"CREATE TABLE {t.source}__{t.name} AS SELECT * FROM read_csv([{paths}], "
            "header = true, all_varchar = true, filename = true)"
        )
    yield con
    con.close()


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def _persons(con) -> set[str]:
    rows = con.execute(
        """
        SELECT national_id FROM bank__customers UNION SELECT national_id FROM insurance__policies
        UNION SELECT national_id FROM pension__agreements
        UNION SELECT national_id FROM markets__securities_accounts
        UNION SELECT national_id FROM asset_management__fund_holdings
        """
    ).fetchall()
    return {r[0] for r in rows}


# --- layout and formats ----------------------------------------------------------------------


def test_every_contract_table_has_its_delivery_file_with_the_contract_header(landing):
    for t in TABLES:
        files = sorted(p.name for p in (landing / t.source / t.name).iterdir())
        expected = [f"{AS_OF.isoformat()}.csv"]
        if (t.source, t.name) == ("privacy", "group_sharing_consents"):
            expected = [f"{YESTERDAY.isoformat()}.csv", *expected]  # the tie partners
        assert files == expected, t.name
        for name in files:
            raw = (landing / t.source / t.name / name).read_bytes()
            header, _, _ = raw.partition(b"\n")
            assert header.decode("utf-8") == ",".join(t.column_names)
            raw.decode("utf-8")  # the whole file is UTF-8
            assert b"\r" not in raw
    sources = sorted(p.name for p in landing.iterdir())
    assert sources == sorted(CONTRACT)


def test_row_counts_returned_match_the_files(tmp_path):
    counts = generate(tmp_path, persons=200, seed=SEED, as_of=AS_OF, progress=False)
    con = duckdb.connect()
    for t in TABLES:
        files = sorted((tmp_path / t.source / t.name).glob("*.csv"))
        lines = sum(len(f.read_bytes().splitlines()) - 1 for f in files)
        rows = sum(
            _one(con, f"SELECT count(*) FROM read_csv('{f}', all_varchar=true)") for f in files
        )
        assert counts[f"{t.source}.{t.name}"] == rows == lines > 0, t.name


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.source}.{t.name}")
def test_values_parse_as_the_contract_types(db, table: Table):
    name = f"{table.source}__{table.name}"
    assert _one(db, f"SELECT count(*) FROM {name}") > 0
    for c in table.columns:
        col = f'"{c.name}"'
        nulls = _one(db, f"SELECT count(*) FROM {name} WHERE {col} IS NULL")
        if not c.nullable:
            assert nulls == 0, f"{table.name}.{c.name} has nulls"
        bad_cast = _one(
            db,
            f"SELECT count(*) FROM {name} "
            f"WHERE {col} IS NOT NULL AND TRY_CAST({col} AS {c.type.duckdb_type}) IS NULL",
        )
        assert bad_cast == 0, f"{table.name}.{c.name} does not cast to {c.type.duckdb_type}"
        regex = WIRE_PATTERNS.get(c.type)
        for pattern in (regex, c.pattern):
            if pattern:
                off = db.execute(
                    f"SELECT {col} FROM {name} WHERE NOT regexp_full_match({col}, ?) LIMIT 3",
                    [pattern],
                ).fetchall()
                assert off == [], f"{table.name}.{c.name} values {off} do not match {pattern}"
        if c.allowed:
            seen = {r[0] for r in db.execute(f"SELECT DISTINCT {col} FROM {name}").fetchall()}
            assert seen - {None} <= set(c.allowed), f"{table.name}.{c.name}: {seen}"


def test_timestamps_carry_the_oslo_offset_of_their_instant(db):
    rows = db.execute(
        "SELECT event_time FROM privacy__group_sharing_consents UNION ALL "
        "SELECT event_time FROM privacy__objections UNION ALL "
        "SELECT viewed_at FROM web__page_views"
    ).fetchall()
    oslo = ZoneInfo("Europe/Oslo")
    offsets = set()
    for (text,) in rows:
        stamp = dt.datetime.fromisoformat(text)
        assert stamp.utcoffset() == stamp.astimezone(oslo).utcoffset(), text
        assert stamp < dt.datetime.combine(AS_OF, dt.time(), tzinfo=oslo), text
        offsets.add(text[-6:])
    assert offsets == {"+01:00", "+02:00"}


def test_no_date_is_after_the_delivery_date(db):
    for t in TABLES:
        for c in t.columns:
            if c.type is ColumnType.DATE:
                latest = _one(db, f'SELECT max("{c.name}") FROM {t.source}__{t.name}')
                assert latest is None or latest <= AS_OF.isoformat(), (t.name, c.name, latest)


# --- identity numbers -------------------------------------------------------------------------


def test_every_national_id_is_valid_synthetic_and_unique_per_person(db):
    persons = _persons(db)
    assert len(persons) == PERSONS  # every person is a customer of at least one company
    assert all(national_id.is_valid(n, allow_synthetic=True) for n in persons)
    assert all(national_id.is_synthetic(n) and int(n[2:4]) > 80 for n in persons)
    assert not any(national_id.is_valid(n) for n in persons)  # never a real person's number
    d_numbers = [n for n in persons if int(n[0]) >= 4]
    assert 0 < len(d_numbers) < 0.1 * PERSONS
    for t in TABLES:
        if "national_id" in t.column_names:
            ids = {
                r[0] for r in db.execute(f"SELECT national_id FROM {t.source}__{t.name}").fetchall()
            }
            assert ids - {None} <= persons, t.name


def test_bank_customers_birth_date_agrees_with_the_national_id(db):
    rows = db.execute("SELECT national_id, birth_date FROM bank__customers").fetchall()
    assert len({n for n, _ in rows}) == len(rows)
    for nid, born in rows:
        assert national_id.birth_date(nid) == dt.date.fromisoformat(born), nid
    # the sex digit follows Skatteetaten's rule on both sides of the individual numbers
    assert {int(n[8]) % 2 for n, _ in rows} == {0, 1}


# --- keys and references ----------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.source}.{t.name}")
def test_keys_are_unique_within_each_delivery(db, table: Table):
    key = ", ".join(f'"{k}"' for k in table.key)
    dupes = db.execute(
        f"SELECT filename, {key}, count(*) FROM {table.source}__{table.name} "
        f"GROUP BY filename, {key} HAVING count(*) > 1 LIMIT 3"
    ).fetchall()
    assert dupes == []


def test_bank_references_resolve(db):
    for table, column in [
        ("bank__accounts", "customer_no"),
        ("bank__cards", "customer_no"),
        ("bank__loans", "customer_no"),
        ("bank__customer_roles", "customer_no"),
        ("bank__customer_roles", "related_customer_no"),
        ("bank__digital_logins", "customer_no"),
    ]:
        dangling = _one(
            db,
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN "
            "(SELECT customer_no FROM bank__customers)",
        )
        assert dangling == 0, (table, column)
    assert _one(db, "SELECT count(*) FROM bank__customer_roles WHERE customer_no = "
                    "related_customer_no") == 0  # fmt: skip
    roles = {r[0] for r in db.execute("SELECT DISTINCT role FROM bank__customer_roles").fetchall()}
    assert roles == {"co_debtor", "guarantor", "guardian"}
    per_customer = db.execute(
        "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM bank__accounts GROUP BY customer_no)"
    ).fetchone()
    assert per_customer == (1, 3)
    assert _one(db, "SELECT count(DISTINCT customer_no) FROM bank__accounts") == _one(
        db, "SELECT count(*) FROM bank__customers"
    )


def test_default_cases_point_at_the_defaulters_own_loans(db):
    wrong = _one(
        db,
        """
        SELECT count(*) FROM risk__default_cases d
        LEFT JOIN bank__loans l USING (loan_no)
        LEFT JOIN bank__customers c ON c.customer_no = l.customer_no
        WHERE c.national_id IS DISTINCT FROM d.national_id
           OR d.opened_on < l.opened_on OR d.closed_on < d.opened_on
        """,
    )
    assert wrong == 0
    # a loan is in default exactly when it has an open default case
    mismatch = _one(
        db,
        """
        SELECT count(*) FROM bank__loans l
        LEFT JOIN risk__default_cases d USING (loan_no)
        WHERE (l.in_default = 'true') <> (d.case_no IS NOT NULL AND d.closed_on IS NULL)
        """,
    )
    assert mismatch == 0
    holders = _one(db, "SELECT count(DISTINCT customer_no) FROM bank__loans")
    assert 0.005 * holders <= _one(db, "SELECT count(*) FROM risk__default_cases") <= 0.05 * holders
    assert _one(db, "SELECT count(*) FROM bank__loans WHERE in_default = 'true'") > 0


def test_postcodes_match_their_city_and_contacts_look_norwegian(db):
    pairs = set(db.execute("SELECT DISTINCT postcode, city FROM bank__customers").fetchall())
    assert pairs - {(None, None)} <= set(POSTCODES)
    share_no = _one(db, "SELECT avg((country_code = 'NO')::INT) FROM bank__customers")
    assert 0.9 < share_no < 1
    phones = [r[0] for r in db.execute("SELECT phone FROM bank__customers").fetchall()]
    assert all(p is None or re.fullmatch(r"\+47[49][0-9]{7}", p) for p in phones)
    assert 0 < sum(p is None for p in phones) < 0.2 * len(phones)
    assert _one(db, "SELECT count(*) FROM bank__customers WHERE email IS NULL") > 0
    ended = _one(db, "SELECT avg((customer_until IS NOT NULL)::INT) FROM bank__customers")
    assert 0 < ended < 0.1


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_and_date_give_identical_bytes(landing, tmp_path):
    again = tmp_path / "again"
    generate(again, persons=PERSONS, seed=SEED, as_of=AS_OF, progress=False)
    for t in TABLES:
        left, right = landing / t.source / t.name, again / t.source / t.name
        names = sorted(p.name for p in left.iterdir())
        assert names == sorted(p.name for p in right.iterdir())
        _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
        assert (mismatch, errors) == ([], []), t.name


def test_another_seed_or_date_gives_other_data(landing, tmp_path):
    generate(tmp_path / "seed", persons=PERSONS, seed=SEED + 1, as_of=AS_OF, progress=False)
    name = f"bank/customers/{AS_OF.isoformat()}.csv"
    assert (tmp_path / "seed" / name).read_bytes() != (landing / name).read_bytes()
    later = AS_OF + dt.timedelta(days=1)
    generate(tmp_path / "date", persons=PERSONS, seed=SEED, as_of=later, progress=False)
    assert (tmp_path / "date" / f"bank/customers/{later.isoformat()}.csv").exists()


# --- overlaps the privacy rules are tested on -------------------------------------------------


def test_company_shares_are_realistic(db):
    def share(sql: str) -> float:
        return _one(db, sql) / PERSONS

    assert 0.80 <= share("SELECT count(*) FROM bank__customers") <= 0.95
    assert (
        0.20
        <= share("SELECT count(DISTINCT national_id) FROM markets__securities_holdings")
        <= 0.30
    )
    assert (
        0.27
        <= share("SELECT count(DISTINCT national_id) FROM asset_management__fund_holdings")
        <= 0.39
    )
    assert 0.24 <= share("SELECT count(DISTINCT national_id) FROM insurance__policies") <= 0.36
    assert 0.12 <= share("SELECT count(DISTINCT national_id) FROM pension__agreements") <= 0.28
    several = _one(
        db,
        """
        SELECT count(*) FROM (
            SELECT national_id FROM (
                SELECT DISTINCT 'bank' AS c, national_id FROM bank__customers
                UNION SELECT 'insurance', national_id FROM insurance__policies
                UNION SELECT 'pension', national_id FROM pension__agreements
                UNION SELECT 'markets', national_id FROM markets__securities_accounts
                UNION SELECT 'funds', national_id FROM asset_management__fund_holdings
            ) GROUP BY national_id HAVING count(*) >= 2
        )
        """,
    )
    assert several > 0.4 * PERSONS


def test_consents_withdrawals_and_ties(db):
    granted = _one(
        db,
        "SELECT count(DISTINCT national_id) FROM privacy__group_sharing_consents "
        "WHERE consent = 'granted'",
    )
    assert 0.34 <= granted / PERSONS <= 0.46
    # withdrawn after an earlier grant, and granted again after a withdrawal
    assert (
        _one(
            db,
            """
        SELECT count(*) FROM privacy__group_sharing_consents g
        JOIN privacy__group_sharing_consents w USING (national_id)
        WHERE g.consent = 'granted' AND w.consent = 'withdrawn'
          AND g.event_time::TIMESTAMPTZ < w.event_time::TIMESTAMPTZ
        """,
        )
        > 0.05 * granted
    )
    assert (
        _one(
            db,
            """
        SELECT count(*) FROM privacy__group_sharing_consents g
        JOIN privacy__group_sharing_consents w USING (national_id)
        WHERE g.consent = 'granted' AND w.consent = 'withdrawn'
          AND g.event_time::TIMESTAMPTZ > w.event_time::TIMESTAMPTZ
        """,
        )
        > 0
    )
    # ties: granted and withdrawn at the same instant, in two deliveries
    ties = db.execute(
        """
        SELECT national_id, count(DISTINCT consent), count(DISTINCT filename)
        FROM privacy__group_sharing_consents
        GROUP BY national_id, event_time HAVING count(*) > 1
        """
    ).fetchall()
    assert ties and all(kinds == 2 and files == 2 for _, kinds, files in ties)
    yesterday = _one(
        db,
        "SELECT count(*) FROM privacy__group_sharing_consents "
        f"WHERE filename LIKE '%{YESTERDAY.isoformat()}.csv'",
    )
    assert yesterday == len(ties)


def test_objectors_in_every_scope_some_withdrawn(db):
    rows = db.execute(
        "SELECT scope, count(DISTINCT national_id) FILTER (action = 'object'), "
        "count(*) FILTER (action = 'withdraw') FROM privacy__objections GROUP BY scope"
    ).fetchall()
    scopes = CONTRACT["privacy"]["objections"].column("scope").allowed
    assert {s for s, _, _ in rows} == set(scopes)
    for scope, objectors, withdrawals in rows:
        assert 0.005 * PERSONS <= objectors <= 0.08 * PERSONS, scope
        assert withdrawals > 0, scope


def test_model_development_objectors_some_of_whom_withdraw_later(db):
    """LANDING.md's model_development scope: persons who object and still do, and persons
    who withdrew after objecting (the withdrawal later than their objection)."""
    still, withdrew = db.execute(
        """
        WITH latest AS (
            SELECT national_id, action, row_number() OVER (
                PARTITION BY national_id
                ORDER BY CAST(event_time AS TIMESTAMPTZ) DESC,
                         CASE WHEN action = 'object' THEN 0 ELSE 1 END) AS rn
            FROM privacy__objections WHERE scope = 'model_development'
        ), objected AS (
            SELECT national_id, min(CAST(event_time AS TIMESTAMPTZ)) AS first_object
            FROM privacy__objections
            WHERE scope = 'model_development' AND action = 'object' GROUP BY national_id
        )
        SELECT count(*) FILTER (action = 'object'),
               count(*) FILTER (action = 'withdraw' AND national_id IN (
                   SELECT o.national_id FROM privacy__objections w JOIN objected o
                   USING (national_id)
                   WHERE w.scope = 'model_development' AND w.action = 'withdraw'
                     AND CAST(w.event_time AS TIMESTAMPTZ) > o.first_object))
        FROM latest WHERE rn = 1
        """
    ).fetchone()
    assert still >= 0.005 * PERSONS and withdrew > 0, (still, withdrew)


def test_securities_and_fund_holders_without_consent_exist(db):
    for table in ("markets__securities_holdings", "asset_management__fund_holdings"):
        unconsented = _one(
            db,
            f"""
            SELECT count(DISTINCT national_id) FROM {table} WHERE national_id NOT IN (
                SELECT national_id FROM privacy__group_sharing_consents WHERE consent = 'granted')
            """,
        )
        consented = _one(db, f"SELECT count(DISTINCT national_id) FROM {table}") - unconsented
        assert unconsented > consented > 0, table


def test_web_visitors_link_to_persons_only_through_logged_in_views(db):
    logged_in = _one(db, "SELECT count(*) FROM web__page_views WHERE national_id IS NOT NULL")
    anonymous = _one(db, "SELECT count(*) FROM web__page_views WHERE national_id IS NULL")
    assert logged_in > 0 and anonymous > 0
    assert _one(
        db,
        "SELECT count(*) FROM web__page_views WHERE national_id IS NULL "
        "AND page_path LIKE '/online-bank/%'",
    ) == 0  # fmt: skip
    # one visitor is at most one person
    assert _one(
        db,
        "SELECT count(*) FROM (SELECT visitor_id FROM web__page_views "
        "GROUP BY visitor_id HAVING count(DISTINCT national_id) > 1)",
    ) == 0  # fmt: skip
    # every page-view visitor has a cookie decision, some of them changed over time
    assert _one(
        db,
        "SELECT count(*) FROM web__page_views WHERE visitor_id NOT IN "
        "(SELECT visitor_id FROM privacy__cookie_consents)",
    ) == 0  # fmt: skip
    changed = _one(
        db,
        "SELECT count(*) FROM (SELECT visitor_id FROM privacy__cookie_consents "
        "GROUP BY visitor_id HAVING count(DISTINCT marketing_cookies) = 2)",
    )
    assert changed > 0
    for (ip,) in db.execute("SELECT DISTINCT ip_address FROM web__page_views").fetchall():
        assert ipaddress.ip_address(ip).version == 4 and ipaddress.ip_address(ip).is_global, ip


def test_securities_isins_have_valid_check_digits(db):
    from dagster_project.landing._queries import isin

    isins = {
        r[0]
        for r in db.execute("SELECT DISTINCT isin FROM markets__securities_holdings").fetchall()
    }
    assert isins and all(i.startswith("NO") and isin(i[:-1]) == i for i in isins)


# --- history the retention rules need (LANDING.md, "History in the synthetic data") -----------

HISTORY_PERSONS = 5000


def _years_ago(years: int, days: int = 0) -> str:
    return (AS_OF.replace(year=AS_OF.year - years) - dt.timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A 5,000-person delivery as typed tables named <source>__<table> (with filename)."""
    out = tmp_path_factory.mktemp("history")
    generate(out, persons=HISTORY_PERSONS, seed=SEED, as_of=AS_OF, progress=False)
    con = duckdb.connect()
    for t in TABLES:
        con.execute(
            f"CREATE TABLE {t.source}__{t.name} AS "
            f"SELECT * FROM read_csv('{out / t.source / t.name}/*.csv', header = true, "
            "filename = true)"
        )
    yield con
    con.close()


# (table, start column, end column): relationships that end, per LANDING.md.
RELATIONSHIPS = [
    ("bank__customers", "customer_since", "customer_until"),
    ("bank__accounts", "opened_on", "closed_on"),
    ("bank__cards", "opened_on", "closed_on"),
    ("bank__loans", "opened_on", "closed_on"),
    ("insurance__policies", "start_date", "end_date"),
    ("pension__agreements", "start_date", "end_date"),
    ("markets__securities_accounts", "opened_on", "closed_on"),
]


@pytest.mark.parametrize(("table", "start", "end"), RELATIONSHIPS, ids=lambda v: str(v))
def test_relationships_ended_up_to_20_years_ago_while_most_stay_active(history, table, start, end):
    total, ended, oldest, newest, before_start = history.execute(
        f"SELECT count(*), count({end}), min({end}), max({end}), "
        f"count(*) FILTER ({end} < {start}) FROM {table}"
    ).fetchone()
    assert 0.02 < ended / total < 0.35, (table, ended, total)  # most stay active
    assert before_start == 0
    assert _years_ago(20) <= oldest.isoformat() < _years_ago(14), (table, oldest)
    assert newest < AS_OF and newest.isoformat() > _years_ago(1)
    # past a 10-year retention from the end of the relationship, and still inside it
    past = _one(history, f"SELECT count(*) FROM {table} WHERE {end} < DATE '{_years_ago(10)}'")
    assert past >= 5, (table, past)


@pytest.mark.parametrize("table", ["bank__customers", "bank__accounts", "bank__cards"])
def test_some_relationships_ended_just_inside_ten_years(history, table):
    end = {t: e for t, _, e in RELATIONSHIPS}[table]
    inside = _one(
        history,
        f"SELECT count(*) FROM {table} "
        f"WHERE {end} BETWEEN DATE '{_years_ago(10)}' AND DATE '{_years_ago(9)}'",
    )
    assert inside > 0, table


def test_a_customer_who_left_holds_nothing_after_leaving(history):
    """Accounts, cards and loans of a former customer end on their customer_until; they have
    no logins after it and no roles."""
    for table in ("bank__accounts", "bank__cards", "bank__loans"):
        wrong = _one(
            history,
            f"SELECT count(*) FROM {table} t JOIN bank__customers c USING (customer_no) "
            "WHERE c.customer_until IS NOT NULL "
            "AND (t.closed_on IS DISTINCT FROM c.customer_until OR t.opened_on < c.customer_since)",
        )
        assert wrong == 0, table
    late = _one(
        history,
        "SELECT count(*) FROM bank__digital_logins l JOIN bank__customers c USING (customer_no) "
        "WHERE l.login_date > c.customer_until OR l.login_date < c.customer_since",
    )
    assert late == 0
    assert _one(
        history,
        "SELECT count(*) FROM bank__customer_roles r JOIN bank__customers c "
        "ON c.customer_no IN (r.customer_no, r.related_customer_no) "
        "WHERE c.customer_until IS NOT NULL",
    ) == 0  # fmt: skip
    # some who left within the last 3 years logged in before they left
    assert _one(
        history,
        "SELECT count(DISTINCT customer_no) FROM bank__digital_logins "
        "JOIN bank__customers USING (customer_no) WHERE customer_until IS NOT NULL",
    ) > 0  # fmt: skip


def test_default_cases_opened_up_to_16_years_ago_some_past_13_years_after_the_loan(history):
    oldest, newest, total = history.execute(
        "SELECT min(opened_on), max(opened_on), count(*) FROM risk__default_cases"
    ).fetchone()
    assert _years_ago(16) <= oldest.isoformat() < _years_ago(13)
    assert newest.isoformat() > _years_ago(1)
    per_year = history.execute(
        f"SELECT count(DISTINCT date_sub('year', opened_on, DATE '{AS_OF}')) "
        "FROM risk__default_cases"
    ).fetchone()[0]
    assert per_year >= 14  # spread over the years, not bunched
    # 13 years after the agreement (the loan) ended: some past it, some just inside
    ended = history.execute(
        f"""
        SELECT count(*) FILTER (l.closed_on < DATE '{_years_ago(13)}'),
               count(*) FILTER (l.closed_on BETWEEN DATE '{_years_ago(13)}'
                                            AND DATE '{_years_ago(12)}'),
               count(*) FILTER (d.closed_on IS NULL),
               count(*) FILTER (d.closed_on IS NOT NULL AND l.closed_on < d.closed_on)
        FROM risk__default_cases d JOIN bank__loans l USING (loan_no)
        """
    ).fetchone()
    past, inside, still_open, loan_ended_first = ended
    assert past > 0 and inside > 0 and still_open > 0, ended
    assert loan_ended_first == 0  # a closed case's loan ends with it (or with the customer)
    assert 0.005 * HISTORY_PERSONS < total < 0.03 * HISTORY_PERSONS


def test_fraud_cases_opened_up_to_12_years_ago_a_few_still_open(history):
    rows = history.execute(
        "SELECT opened_on, closed_on FROM risk__fraud_cases ORDER BY opened_on"
    ).fetchall()
    assert _years_ago(12) <= rows[0][0].isoformat() < _years_ago(10, days=1)
    assert sum(o.isoformat() < _years_ago(10) for o, _ in rows) > 0  # past 10 years
    assert sum(_years_ago(10) <= o.isoformat() < _years_ago(9) for o, _ in rows) > 0
    still_open = [o for o, c in rows if c is None]
    assert 0 < len(still_open) < 0.5 * len(rows)  # a few
    assert all(o.isoformat() >= _years_ago(2) for o in still_open)
    assert all(o <= c < AS_OF for o, c in rows if c is not None)
    # an open case belongs to someone the bank knows (the access report must withhold it)
    assert _one(
        history,
        "SELECT count(*) FROM risk__fraud_cases WHERE closed_on IS NULL AND national_id NOT IN "
        "(SELECT national_id FROM bank__customers)",
    ) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("table", "column"),
    [("web__page_views", "viewed_at"), ("bank__digital_logins", "login_date")],
)
def test_page_views_and_logins_span_the_last_3_years_dense_in_the_last_month(
    history, table, column
):
    day = f"CAST({column} AS DATE)"
    oldest, past_a_year, last_year_end, last_month, total = history.execute(
        f"SELECT min({day}), count(*) FILTER ({day} < DATE '{_years_ago(1)}'), "
        f"count(*) FILTER ({day} BETWEEN DATE '{_years_ago(1)}' "
        f"AND DATE '{_years_ago(1)}' + 30), "
        f"count(*) FILTER ({day} >= DATE '{AS_OF}' - 30), count(*) FROM {table}"
    ).fetchone()
    assert _years_ago(3) <= oldest.isoformat() < _years_ago(2, days=300), oldest
    assert past_a_year > 0.05 * total and last_year_end > 0  # past a 1-year retention, and not
    assert last_month > 0.25 * total  # the usage bands read the last 30 days


@pytest.mark.parametrize(
    ("table", "key"),
    [("privacy__group_sharing_consents", "consent"), ("privacy__objections", "action")],
)
def test_consents_and_objections_span_the_last_10_years(history, table, key):
    oldest, newest, old, recent = history.execute(
        f"SELECT min(event_time), max(event_time), "
        f"count(*) FILTER (event_time < TIMESTAMPTZ '{_years_ago(9)}'), "
        f"count(*) FILTER (event_time >= TIMESTAMPTZ '{_years_ago(1)}') FROM {table}"
    ).fetchone()
    assert _years_ago(10) <= oldest.date().isoformat() < _years_ago(9, days=300)
    assert newest.date() < AS_OF
    assert old > 0 and recent > 0
    kinds = history.execute(
        f"SELECT DISTINCT {key} FROM {table} WHERE event_time < TIMESTAMPTZ '{_years_ago(5)}'"
    ).fetchall()
    assert len(kinds) == 2  # grants/objections and withdrawals also long ago


def test_keys_stay_unique_with_the_history(history):
    """Older logins are drawn in disjoint day slices, so a day is never drawn twice (a repeated
    key would make the file order, and so the bytes, depend on the run)."""
    for t in TABLES:
        key = ", ".join(t.key)
        dupes = _one(
            history,
            f"SELECT count(*) FROM (SELECT filename, {key} FROM {t.source}__{t.name} "
            f"GROUP BY filename, {key} HAVING count(*) > 1)",
        )
        assert dupes == 0, t.name


def test_history_is_deterministic_and_moves_with_the_delivery_date(tmp_path):
    later = AS_OF + dt.timedelta(days=400)
    for out in ("a", "b"):
        generate(tmp_path / out, persons=3000, seed=SEED, as_of=later, progress=False)
    for t in TABLES:
        left, right = tmp_path / "a" / t.source / t.name, tmp_path / "b" / t.source / t.name
        names = sorted(p.name for p in left.iterdir())
        _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
        assert (mismatch, errors) == ([], []), t.name
    oldest = _one(
        duckdb.connect(),
        f"SELECT min(customer_until) FROM read_csv('{tmp_path}/a/bank/customers/*.csv')",
    )
    assert later.replace(year=later.year - 20) <= oldest < later.replace(year=later.year - 14)


# --- errors and progress ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"persons": 0}, "persons must be a positive whole number"),
        ({"persons": 10, "as_of": dt.date(2045, 1, 1)}, "outside 1990-01-01..2039-12-31"),
        ({"persons": 10, "seed": 2**70}, "seed must be a whole number"),
    ],
)
def test_bad_arguments_fail_with_one_line(tmp_path, kwargs, message):
    args = {"seed": 1, "as_of": AS_OF, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        generate(tmp_path / "out", **args)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "landing"
    target.write_text("not a directory")
    with pytest.raises(ValueError, match="is a file"):
        generate(target, persons=5, seed=1, as_of=AS_OF, progress=False)


def test_progress_bar_only_when_asked(tmp_path, capsys):
    generate(tmp_path / "quiet", persons=20, seed=1, as_of=AS_OF, progress=False)
    assert capsys.readouterr().err == ""
    generate(tmp_path / "loud", persons=20, seed=1, as_of=AS_OF, progress=True)
    assert "generate" in capsys.readouterr().err
    assert not list((tmp_path / "loud").rglob("*.partial"))


# --- identity-number capacity -----------------------------------------------------------------


def test_persons_past_the_ordinary_numbers_of_a_birth_date_get_its_d_numbers(tmp_path):
    """450 men born the same day: ~250 ordinary numbers, the rest D-numbers of that day."""
    con = duckdb.connect()
    for statement in _queries.macros(SEED, AS_OF):
        con.execute(statement)
    con.execute(
        "CREATE TEMP TABLE p0 AS SELECT range AS i, false AS minor, false AS female, "
        "range < 5 AS dnum, DATE '1961-01-02' AS birth_date FROM range(450)"
    )
    persons_step = dict(_queries.builds(450))["persons"]
    for statement in persons_step[1:]:  # everything after the draw of p0
        con.execute(statement)
    rows = con.execute("SELECT national_id, dnum FROM persons").fetchall()
    ids = [n for n, _ in rows]
    assert len(ids) == 450 and len(set(ids)) == 450
    assert all(national_id.is_valid(n, allow_synthetic=True) for n in ids)
    assert {national_id.birth_date(n) for n in ids} == {dt.date(1961, 1, 2)}
    assert all((int(n[0]) >= 4) == d for n, d in rows)  # the D flag follows the number
    d_numbers = sum(d for _, d in rows)
    assert 450 - 300 < d_numbers < 450 - 200  # 300 odd individual numbers, ~83 % valid
    assert {int(n[8]) % 2 for n in ids} == {1}  # all men


def test_more_persons_than_a_birth_date_holds_is_refused_in_one_line(tmp_path):
    con = duckdb.connect()
    for statement in _queries.macros(SEED, AS_OF):
        con.execute(statement)
    con.execute(
        "CREATE TEMP TABLE p0 AS SELECT range AS i, false AS minor, false AS female, "
        "false AS dnum, DATE '1961-01-02' AS birth_date FROM range(700)"
    )
    for statement in dict(_queries.builds(700))["persons"][1:]:
        con.execute(statement)
    with pytest.raises(ValueError, match=r"^cannot give 700 persons unique synthetic") as err:
        _check_all_numbered(con, 700)
    assert "\n" not in str(err.value)


# --- bounded memory ---------------------------------------------------------------------------


def test_same_bytes_when_duckdb_must_spill_to_disk(tmp_path):
    """A 32 MB memory limit and one thread make DuckDB spill working tables and sorts beside the
    output; the files are byte-identical to those of the default limit, and the spill is gone."""
    persons = 20_000
    generate(tmp_path / "default", persons=persons, seed=SEED, as_of=AS_OF, progress=False)
    small = tmp_path / "small"
    spilled = []
    done = threading.Event()

    def size(f: Path) -> int:
        try:
            return f.stat().st_size if f.is_file() else 0
        except FileNotFoundError:  # DuckDB removed the spill file between listing and stat
            return 0

    def watch() -> None:  # the largest spill directory seen while the generator runs
        while not done.is_set():
            spilled.append(sum(size(f) for f in small.glob(".generate-spill-*/**/*")))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        generate(
            small,
            persons=persons,
            seed=SEED,
            as_of=AS_OF,
            progress=False,
            memory_limit="32MB",
            threads=1,
        )
    finally:
        done.set()
        watcher.join()
    assert max(spilled) > 1_000_000
    assert not list(small.glob(".generate-spill-*"))
    for t in TABLES:
        left, right = tmp_path / "default" / t.source / t.name, small / t.source / t.name
        names = sorted(p.name for p in left.iterdir())
        assert names == sorted(p.name for p in right.iterdir())
        _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
        assert (mismatch, errors) == ([], []), t.name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory_limit": "lots"}, "memory_limit must be a size such as '1GB', got 'lots'"),
        ({"threads": 0}, "threads must be a positive whole number, got 0"),
    ],
)
def test_bad_memory_settings_fail_with_one_line(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as err:
        generate(tmp_path, persons=10, seed=1, as_of=AS_OF, progress=False, **kwargs)
    assert str(err.value) == message


def test_too_small_a_memory_limit_fails_with_one_line_and_no_partial_file(tmp_path):
    with pytest.raises(ValueError) as err:
        generate(
            tmp_path,
            persons=20_000,
            seed=SEED,
            as_of=AS_OF,
            progress=False,
            memory_limit="8MB",
            threads=1,
        )
    assert str(err.value).startswith("the generator needed more than its DuckDB memory limit (8MB")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no partial or spill file left
