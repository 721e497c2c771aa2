"""Ingest: landing files validated against the contract, loaded raw, the rest quarantined.

Every test writes its own small CSV files under ``tmp_path`` and a DuckDB file next to them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import random
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from catalog.national_id import check_digits, is_valid
from dagster_project.landing.contract import CONTRACT
from dagster_project.landing.deliveries import IngestError, landing_files
from dagster_project.landing.load import ingest_table

DAY = "2024-03-01"


def national_id(day: int, month: int, year: int, individual: int = 100, *, synthetic=True) -> str:
    """The first valid number for the birth date from ``individual`` upwards (month + 80 when
    synthetic)."""
    for ind in range(individual, 1000):
        first_nine = f"{day:02d}{month + (80 if synthetic else 0):02d}{year % 100:02d}{ind:03d}"
        digits = check_digits(first_nine)
        if digits is not None:
            return first_nine + digits
    raise AssertionError("no valid number")


NID = national_id(15, 5, 1985)
NID2 = national_id(1, 12, 1970)

BASE = {
    ("bank", "customers"): {
        "customer_no": "B00000001",
        "national_id": NID,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "birth_date": "1985-05-15",
        "street_address": "Storgata 1",
        "postcode": "0155",
        "city": "Oslo",
        "country_code": "NO",
        "email": "kari@example.no",
        "phone": "+4791234567",
        "customer_since": "2020-01-01",
        "customer_until": "",
    },
    ("bank", "accounts"): {
        "account_no": "A1",
        "customer_no": "B00000001",
        "product_code": "savings",
        "opened_on": "2020-01-01",
        "closed_on": "",
        "balance": "1200.50",
        "deposits_last_30d": "3",
        "withdrawals_last_30d": "1",
        "deposit_amount_last_30d": "300",
        "withdrawal_amount_last_30d": "-50.5",
    },
    ("bank", "loans"): {
        "loan_no": "L1",
        "customer_no": "B00000001",
        "product_code": "mortgage",
        "principal": "2500000.00",
        "outstanding": "2100000.5",
        "opened_on": "2019-06-01",
        "closed_on": "",
        "in_default": "false",
    },
    ("privacy", "group_sharing_consents"): {
        "national_id": NID,
        "event_time": "2024-03-01T10:00:00+01:00",
        "consent": "granted",
        "channel": "mobile_app",
    },
    ("markets", "securities_accounts"): {
        "custody_account_no": "C1",
        "national_id": NID,
        "opened_on": "2021-02-03",
        "closed_on": "",
    },
}


def row(source: str, table: str, n: int = 1, **values: str) -> dict[str, str]:
    """A valid row of the table whose key differs by ``n``, with ``values`` replaced."""
    r = dict(BASE[(source, table)])
    key = CONTRACT[source][table].key[0]
    r[key] = r[key][:-1] + str(n) if key != "national_id" else national_id(1, 1, 1950, 100 + n)
    r.update(values)
    return r


def csv_text(header, rows) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header] if isinstance(r, dict) else r)
    return out.getvalue()


def deliver(root: Path, source: str, table: str, rows, *, day=DAY, header=None) -> Path:
    """Write one delivery file; ``rows`` are dicts, lists or (for raw text) a str body."""
    header = header or list(CONTRACT[source][table].column_names)
    path = root / source / table / f"{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = csv_text(header, []) + rows if isinstance(rows, str) else csv_text(header, rows)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "landing").mkdir()
    return tmp_path / "landing"


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield c
    c.close()


def ingest(conn, source, table, root, *, allow_synthetic=True):
    """ingest_table, plus the invariant checked against what the tables hold."""
    r = ingest_table(conn, source, table, root, allow_synthetic=allow_synthetic)
    assert r.rows_in == r.rows_loaded + r.rows_quarantined
    assert r.rows_loaded == conn.execute(f"select count(*) from raw_{source}.{table}").fetchone()[0]
    assert r.rows_quarantined == len(quarantined(conn, source, table))
    assert sum(r.reasons.values()) >= r.rows_quarantined
    return r


def quarantined(conn, source, table) -> list[tuple]:
    return conn.execute(
        "select file, line, reason, record from quarantine.rejected_rows "
        'where source = ? and "table" = ? order by file, line',
        [source, table],
    ).fetchall()


def raw(conn, source, table, columns="* exclude (_load_id)") -> list[tuple]:
    return conn.execute(
        f"select {columns} from raw_{source}.{table} order by _source_file, _source_line"
    ).fetchall()


# --- good files ------------------------------------------------------------------------------


def test_good_file_loads_every_row_typed_with_its_source(conn, root):
    deliver(
        root, "bank", "loans", [row("bank", "loans", 1), row("bank", "loans", 2, in_default="true")]
    )

    r = ingest(conn, "bank", "loans", root)

    assert (r.files, r.rows_in, r.rows_loaded, r.rows_quarantined, r.reasons) == (
        (f"bank/loans/{DAY}.csv",),
        2,
        2,
        0,
        {},
    )
    layout = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_bank' and table_name = 'loans' order by ordinal_position"
    ).fetchall()
    contract = CONTRACT["bank"]["loans"]
    assert layout == [
        *((c.name, c.type.duckdb_type) for c in contract.columns),
        ("_source_file", "VARCHAR"),
        ("_source_line", "BIGINT"),
        ("_delivery_date", "DATE"),
        ("_load_id", "BIGINT"),  # the file's load in raw_meta.loaded_files
    ]
    assert raw(conn, "bank", "loans") == [
        (
            "L1",
            "B00000001",
            "mortgage",
            Decimal("2500000.00"),
            Decimal("2100000.50"),
            dt.date(2019, 6, 1),
            None,  # empty field = null
            False,
            f"bank/loans/{DAY}.csv",
            2,
            dt.date(2024, 3, 1),
        ),
        (
            "L2",
            "B00000001",
            "mortgage",
            Decimal("2500000.00"),
            Decimal("2100000.50"),
            dt.date(2019, 6, 1),
            None,
            True,
            f"bank/loans/{DAY}.csv",
            3,
            dt.date(2024, 3, 1),
        ),
    ]


def test_timestamps_keep_their_offset_and_columns_may_come_in_any_order(conn, root):
    rows = [
        row("privacy", "group_sharing_consents", 1),
        row("privacy", "group_sharing_consents", 2, event_time="2024-03-01T09:00:00.5Z"),
    ]
    header = ["channel", "consent", "event_time", "national_id"]
    deliver(root, "privacy", "group_sharing_consents", rows, header=header)

    ingest(conn, "privacy", "group_sharing_consents", root)

    assert raw(conn, "privacy", "group_sharing_consents", "epoch(event_time), channel") == [
        (dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC).timestamp(), "mobile_app"),
        (dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC).timestamp() + 0.5, "mobile_app"),
    ]


def test_all_delivery_files_load_and_the_same_key_may_repeat_across_days(conn, root):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1, balance="1")], day="2024-03-02")
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1, balance="2")], day="2024-03-01")

    r = ingest(conn, "bank", "accounts", root)

    assert r.files == ("bank/accounts/2024-03-01.csv", "bank/accounts/2024-03-02.csv")
    assert raw(conn, "bank", "accounts", "account_no, balance, _delivery_date") == [
        ("A1", Decimal("2.00"), dt.date(2024, 3, 1)),
        ("A1", Decimal("1.00"), dt.date(2024, 3, 2)),
    ]


def test_a_table_without_landing_folder_has_zero_rows(conn, root):
    r = ingest(conn, "risk", "fraud_cases", root)

    assert (r.files, r.rows_in, r.rows_loaded, r.rows_quarantined) == ((), 0, 0, 0)
    assert raw(conn, "risk", "fraud_cases") == []


# --- quarantine --------------------------------------------------------------------------------

WRONG_CHECK_DIGIT = NID[:10] + str((int(NID[10]) + 1) % 10)
NO_SUCH_DAY = next(  # 31 February, with valid check digits
    n + d for i in range(100, 999) if (d := check_digits(n := f"3182{90:02d}{i:03d}")) is not None
)


@pytest.mark.parametrize(
    ("source", "table", "column", "value", "kind", "reason"),
    [
        (
            "bank",
            "accounts",
            "balance",
            "12,50",
            "bad type balance",
            "bad type balance: '12,50' is not a decimal",
        ),
        ("bank", "accounts", "balance", "10.005", "bad type balance", "at most 2 decimals"),
        (
            "bank",
            "accounts",
            "deposits_last_30d",
            "3.0",
            "bad type deposits_last_30d",
            "not an integer",
        ),
        (
            "bank",
            "customers",
            "birth_date",
            "1990-13-01",
            "bad type birth_date",
            "'1990-13-01' is not a date YYYY-MM-DD",
        ),
        (
            "bank",
            "customers",
            "customer_since",
            "01.02.2020",
            "bad type customer_since",
            "is not a date",
        ),
        ("bank", "loans", "in_default", "yes", "bad type in_default", "'yes' is not true or false"),
        (
            "privacy",
            "group_sharing_consents",
            "event_time",
            "2024-03-01T10:00:00",
            "bad type event_time",
            "with offset",
        ),
        (
            "bank",
            "accounts",
            "product_code",
            "loan",
            "not allowed product_code",
            "'loan' is not one of current, savings, bsu, fixed_term",
        ),
        (
            "bank",
            "accounts",
            "product_code",
            " savings",
            "not allowed product_code",
            "' savings' is not one of",
        ),
        (
            "bank",
            "customers",
            "postcode",
            "12345",
            "bad pattern postcode",
            "'12345' does not match [0-9]{4}",
        ),
        (
            "bank",
            "customers",
            "first_name",
            "",
            "null first_name",
            "null first_name: empty, but required",
        ),
        (
            "bank",
            "customers",
            "national_id",
            WRONG_CHECK_DIGIT,
            "bad national_id",
            "has wrong check digits",
        ),
        ("bank", "customers", "national_id", "1234567890", "bad national_id", "is not 11 digits"),
        (
            "bank",
            "customers",
            "national_id",
            NO_SUCH_DAY,
            "bad national_id",
            "has no valid birth date",
        ),
    ],
)
def test_a_bad_value_quarantines_its_row_with_file_line_and_reason(
    conn, root, source, table, column, value, kind, reason
):
    path = deliver(
        root, source, table, [row(source, table, 1), row(source, table, 2, **{column: value})]
    )

    r = ingest(conn, source, table, root)

    assert (r.rows_in, r.rows_loaded, r.rows_quarantined, r.reasons) == (2, 1, 1, {kind: 1})
    [(file, line, got, record)] = quarantined(conn, source, table)
    assert (file, line) == (path.relative_to(root).as_posix(), 3)
    assert reason in got and got.startswith(kind)
    assert json.loads(record) == row(source, table, 2, **{column: value})  # as delivered
    assert [r[0] for r in raw(conn, source, table, "_source_line")] == [2]


def test_every_objection_scope_of_the_contract_loads_and_an_unknown_one_is_quarantined(conn, root):
    """LANDING.md: scope is direct_marketing, profiling, statistics, social_matching or
    model_development; anything else is refused with the allowed values named."""
    scopes = CONTRACT["privacy"]["objections"].column("scope").allowed
    assert "model_development" in scopes
    rows = [
        {
            "national_id": NID,
            "scope": s,
            "event_time": "2024-03-01T10:00:00+01:00",
            "action": "object",
        }
        for s in scopes
    ]
    rows.append(
        {
            "national_id": NID,
            "scope": "model_development",
            "event_time": "2024-03-02T10:00:00+01:00",
            "action": "withdraw",
        }
    )
    rows.append(
        {
            "national_id": NID2,
            "scope": "model_training",
            "event_time": "2024-03-01T10:00:00+01:00",
            "action": "object",
        }
    )
    deliver(root, "privacy", "objections", rows)

    r = ingest(conn, "privacy", "objections", root)

    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (len(scopes) + 2, len(scopes) + 1, 1)
    assert r.reasons == {"not allowed scope": 1}
    [(_, line, reason, record)] = quarantined(conn, "privacy", "objections")
    assert line == len(scopes) + 3 and json.loads(record)["scope"] == "model_training"
    assert reason.startswith("not allowed scope: 'model_training' is not one of ")
    assert "model_development" in reason
    loaded = raw(conn, "privacy", "objections", "scope, action")
    assert ("model_development", "object") in loaded and ("model_development", "withdraw") in loaded


def test_synthetic_numbers_are_accepted_only_when_the_data_is_synthetic(conn, root):
    real = "02016126007"  # a valid real-world number (LANDING.md)
    d_number = national_id(15 + 40, 5, 1985, synthetic=False)
    rows = [
        row("markets", "securities_accounts", 1, national_id=NID),
        row("markets", "securities_accounts", 2, national_id=real),
        row("markets", "securities_accounts", 3, national_id=d_number),
    ]
    deliver(root, "markets", "securities_accounts", rows)

    strict = ingest(conn, "markets", "securities_accounts", root, allow_synthetic=False)
    assert (strict.rows_loaded, strict.reasons) == (2, {"bad national_id": 1})
    [(_, line, reason, _)] = quarantined(conn, "markets", "securities_accounts")
    assert line == 2 and "synthetic test number" in reason

    lenient = ingest(conn, "markets", "securities_accounts", root, allow_synthetic=True)
    assert (lenient.rows_loaded, lenient.rows_quarantined) == (3, 0)


def test_identity_number_check_in_sql_agrees_with_the_python_reference(conn, root):
    rng = random.Random(20240301)
    numbers = {"02016126007", "31129956715", NID, NO_SUCH_DAY, WRONG_CHECK_DIGIT}
    for _ in range(1500):
        day = rng.choice([rng.randint(0, 32), rng.randint(40, 72)])
        month = rng.choice([rng.randint(0, 13), rng.randint(80, 93), 2, 82])
        first_nine = f"{day:02d}{month:02d}{rng.randint(0, 99):02d}{rng.randint(0, 999):03d}"
        digits = check_digits(first_nine) or f"{rng.randint(0, 99):02d}"
        numbers.add(first_nine + (digits if rng.random() < 0.8 else f"{rng.randint(0, 99):02d}"))
    numbers = sorted(numbers)
    rows = [row("markets", "securities_accounts", 1, national_id=n) for n in numbers]
    for i, r in enumerate(rows):
        r["custody_account_no"] = f"C{i}"
    deliver(root, "markets", "securities_accounts", rows)

    for allow in (False, True):
        ingest(conn, "markets", "securities_accounts", root, allow_synthetic=allow)
        loaded = {n for (n,) in raw(conn, "markets", "securities_accounts", "national_id")}
        expected = {n for n in numbers if is_valid(n, allow_synthetic=allow)}
        assert loaded == expected
        assert 100 < len(expected) < len(numbers)


def test_every_row_of_a_duplicated_key_is_quarantined(conn, root):
    rows = [
        row("bank", "accounts", 1, balance="1"),
        row("bank", "accounts", 2),
        row("bank", "accounts", 1, balance="2"),
        row("bank", "accounts", 1, balance="3"),
    ]
    deliver(root, "bank", "accounts", rows)

    r = ingest(conn, "bank", "accounts", root)

    assert (r.rows_loaded, r.rows_quarantined, r.reasons) == (1, 3, {"duplicate key": 3})
    got = {line: reason for _, line, reason, _ in quarantined(conn, "bank", "accounts")}
    assert got == {
        2: "duplicate key: (account_no) = ('A1') on 3 rows, also on lines 4, 5",
        4: "duplicate key: (account_no) = ('A1') on 3 rows, also on lines 2, 5",
        5: "duplicate key: (account_no) = ('A1') on 3 rows, also on lines 2, 4",
    }


def test_a_long_list_of_duplicate_lines_is_cut_short(conn, root):
    deliver(
        root, "bank", "accounts", [row("bank", "accounts", 1, balance=str(i)) for i in range(8)]
    )

    ingest(conn, "bank", "accounts", root)

    reasons = [reason for _, _, reason, _ in quarantined(conn, "bank", "accounts")]
    assert reasons[0] == (
        "duplicate key: (account_no) = ('A1') on 8 rows, also on lines 3, 4, 5, 6, 7, ..."
    )
    assert reasons[-1].endswith("also on lines 2, 3, 4, 5, 6, ...")


def test_timestamps_in_a_key_compare_as_instants(conn, root):
    rows = [
        row("privacy", "group_sharing_consents", 1, event_time="2024-03-01T10:00:00+01:00"),
        row("privacy", "group_sharing_consents", 1, event_time="2024-03-01T09:00:00Z"),
    ]
    deliver(root, "privacy", "group_sharing_consents", rows)

    r = ingest(conn, "privacy", "group_sharing_consents", root)

    assert r.reasons == {"duplicate key": 2}


def test_all_problems_of_a_row_are_named_and_counted(conn, root):
    bad = row("bank", "accounts", 2, product_code="loan", balance="1,5", opened_on="")
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1), bad])

    r = ingest(conn, "bank", "accounts", root)

    assert r.reasons == {"bad type balance": 1, "not allowed product_code": 1, "null opened_on": 1}
    [(_, line, reason, _)] = quarantined(conn, "bank", "accounts")
    assert line == 3
    assert reason.split("; ") == [
        "not allowed product_code: 'loan' is not one of current, savings, bsu, fixed_term",
        "null opened_on: empty, but required",
        "bad type balance: '1,5' is not a decimal number with '.' as separator and at most 2 "
        "decimals",
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            [c for c in CONTRACT["bank"]["customers"].column_names if c != "email"],
            "missing column email",
        ),
        ([*CONTRACT["bank"]["customers"].column_names, "nickname"], "unknown column nickname"),
    ],
)
def test_a_header_that_breaks_the_contract_quarantines_every_row(conn, root, header, reason):
    deliver(
        root,
        "bank",
        "customers",
        [row("bank", "customers", 1), row("bank", "customers", 2)],
        header=header,
    )

    r = ingest(conn, "bank", "customers", root)

    assert (r.rows_in, r.rows_loaded, r.rows_quarantined, r.reasons) == (2, 0, 2, {reason: 2})
    got = quarantined(conn, "bank", "customers")
    assert [(line, why) for _, line, why, _ in got] == [(2, reason), (3, reason)]
    assert set(json.loads(got[0][3])) == set(header)


def test_broken_csv_lines_are_quarantined_with_their_line(conn, root):
    header = CONTRACT["bank"]["loans"].column_names
    good = csv_text(header, [row("bank", "loans", 1)]).split("\n")[1]
    body = (
        f"{good}\n"
        "L2,B00000001,mortgage,1.00,1.00,2019-06-01,,false,surplus\n"  # 9 fields, 8 expected
        f"{good.replace('L1', 'L3')}\n"
        'L4,B00000001,"mortgage,1.00,1.00,2019-06-01,,false\n'  # unterminated quote
    )
    deliver(root, "bank", "loans", body)

    r = ingest(conn, "bank", "loans", root)

    assert (r.rows_in, r.rows_loaded, r.reasons) == (4, 2, {"broken line": 2})
    assert [line for (line,) in raw(conn, "bank", "loans", "_source_line")] == [2, 4]
    got = quarantined(conn, "bank", "loans")
    assert [(line, why.split(":")[0]) for _, line, why, _ in got] == [
        (3, "broken line"),
        (5, "broken line"),
    ]
    assert "Expected Number of Columns: 8 Found: 9" in got[0][2]
    assert json.loads(got[0][3]) == {
        "_raw": "L2,B00000001,mortgage,1.00,1.00,2019-06-01,,false,surplus"
    }


def test_source_line_is_the_physical_line(conn, root):
    """CRLF line breaks, quoted values spanning lines and empty lines do not shift the numbers."""
    r1, r2, r3 = (row("bank", "customers", i) for i in (1, 2, 3))
    r2["street_address"] = "Storgata 1\nPostboks 7"
    header = CONTRACT["bank"]["customers"].column_names
    # CRLF, and one empty line at the end
    crlf = csv_text(header, [r1, r2, r3]).replace("\n", "\r\n") + "\r\n"
    path = deliver(root, "bank", "customers", [])
    path.write_bytes(crlf.encode())

    ingest(conn, "bank", "customers", root)

    assert raw(conn, "bank", "customers", "customer_no, street_address, _source_line") == [
        ("B00000001", "Storgata 1", 2),
        ("B00000002", "Storgata 1\r\nPostboks 7", 3),
        ("B00000003", "Storgata 1", 5),
    ]

    lf = csv_text(header, [r1, r3, row("bank", "customers", 4, email="x")])
    head, *body = lf.splitlines()
    path.write_text("\n".join([head, "", body[0], "", "", body[1], body[2]]) + "\n")

    ingest(conn, "bank", "customers", root)

    assert raw(conn, "bank", "customers", "customer_no, _source_line") == [
        ("B00000001", 3),
        ("B00000003", 6),
    ]
    assert [line for _, line, _, _ in quarantined(conn, "bank", "customers")] == [7]


def test_empty_lines_mixed_with_values_spanning_lines_are_refused(conn, root):
    """Both at once leave the line of a row ambiguous to the line scan: refused, not guessed."""
    r2 = row("bank", "customers", 2, street_address="Storgata 1\nPostboks 7")
    header = CONTRACT["bank"]["customers"].column_names
    head, *body = csv_text(header, [row("bank", "customers", 1), r2]).split("\n")
    path = deliver(root, "bank", "customers", [])
    path.write_text("\n".join([head, body[0], "", *body[1:]]))

    with pytest.raises(IngestError, match="remove the empty lines between rows"):
        ingest_table(conn, "bank", "customers", root, allow_synthetic=True)


# --- re-runs and unreadable files --------------------------------------------------------------


def test_a_rerun_gives_identical_tables_and_leaves_other_tables_alone(conn, root):
    deliver(
        root,
        "bank",
        "accounts",
        [row("bank", "accounts", 1), row("bank", "accounts", 2, balance="x")],
    )
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)], day="2024-03-02")
    deliver(root, "bank", "loans", [row("bank", "loans", 1, in_default="no")])

    first = ingest(conn, "bank", "accounts", root)
    before = raw(conn, "bank", "accounts"), quarantined(conn, "bank", "accounts")
    ingest(conn, "bank", "loans", root)
    again = ingest(conn, "bank", "accounts", root)

    # nothing changed, so nothing is read again (the registry, tests/test_incremental_ingest.py)
    assert (again.full, again.files_read, again.rows_read) == (False, (), 0)
    assert (
        dataclasses.replace(
            again, full=True, files_read=first.files_read, rows_read=first.rows_read
        )
        == first
    )
    assert (raw(conn, "bank", "accounts"), quarantined(conn, "bank", "accounts")) == before
    assert len(quarantined(conn, "bank", "loans")) == 1

    (root / "bank" / "accounts" / f"{DAY}.csv").unlink()  # a full reload forgets it
    assert ingest(conn, "bank", "accounts", root).rows_in == 1
    assert quarantined(conn, "bank", "accounts") == []


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (
            "customer_no,national_id\nB00000001,Bjørn\n".encode("latin-1"),
            "not UTF-8 (invalid byte sequence on line 2)",
        ),
        (b"", "empty file without header row"),
        (
            b"account_no;customer_no;product_code\nA1;B00000001;savings\n",
            "is not a comma-separated extract",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "contains NUL bytes"),
    ],
)
def test_an_unreadable_file_raises_and_changes_nothing(conn, root, content, what):
    deliver(
        root,
        "bank",
        "accounts",
        [row("bank", "accounts", 1), row("bank", "accounts", 2, balance="x")],
    )
    ingest(conn, "bank", "accounts", root)
    before = raw(conn, "bank", "accounts"), quarantined(conn, "bank", "accounts")
    bad = root / "bank" / "accounts" / "2024-03-02.csv"
    bad.write_bytes(content)

    with pytest.raises(IngestError) as err:
        ingest_table(conn, "bank", "accounts", root, allow_synthetic=True)

    message = str(err.value)
    assert message.startswith(f"{bad}: ") and what in message
    assert "\n" not in message and "; " in message  # one line: what is wrong; what to do
    assert (raw(conn, "bank", "accounts"), quarantined(conn, "bank", "accounts")) == before


def test_landing_files_are_the_delivery_days_in_order(root):
    for day in ("2024-03-02", "2024-02-29", "2024-03-01"):
        deliver(root, "bank", "cards", [], day=day)
    (root / "bank" / "cards" / ".2024-03-03.csv.swp").write_text("editor swap file")

    assert [p.name for p in landing_files(root, "bank", "cards")] == [
        "2024-02-29.csv",
        "2024-03-01.csv",
        "2024-03-02.csv",
    ]
    assert landing_files(root, "bank", "no_such_table") == []

    (root / "bank" / "cards" / "2024-02-30.csv").write_text("")
    with pytest.raises(IngestError, match=r"2024-02-30\.csv: not a delivery file"):
        landing_files(root, "bank", "cards")


def test_unknown_table_or_missing_landing_root_is_a_one_line_error(conn, root):
    with pytest.raises(IngestError, match="no landing table bank/nope"):
        ingest_table(conn, "bank", "nope", root, allow_synthetic=True)
    with pytest.raises(IngestError, match="landing root does not exist"):
        ingest_table(conn, "bank", "cards", root / "missing", allow_synthetic=True)


# --- contract limits (issue 14) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('=HYPERLINK("http://x.example","Kari")', "starts with '='"),
        ("+47 Kari", "starts with '+'"),
        ("-Kari", "starts with '-'"),
        ("@SUM(A1)", "starts with '@'"),
        ("\t=1+1", "starts with a tab"),
    ],
)
def test_a_free_text_value_a_spreadsheet_would_run_is_quarantined(conn, root, value, says):
    deliver(
        root,
        "bank",
        "customers",
        [row("bank", "customers", 1), row("bank", "customers", 2, first_name=value)],
    )

    r = ingest(conn, "bank", "customers", root)

    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert r.reasons == {"spreadsheet formula first_name": 1}
    [(_, line, reason, record)] = quarantined(conn, "bank", "customers")
    assert line == 3 and reason.startswith("spreadsheet formula first_name: ")
    assert says in reason and reason.endswith("which a spreadsheet would run as a formula")
    assert json.loads(record)["first_name"] == value


def test_values_the_contract_constrains_otherwise_may_start_with_a_sign(conn, root):
    """A patterned phone (+47...) and a negative amount are not free text."""
    deliver(root, "bank", "customers", [row("bank", "customers", 1, phone="+4791234567")])
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1, balance="-12.50")])

    assert ingest(conn, "bank", "customers", root).rows_quarantined == 0
    assert ingest(conn, "bank", "accounts", root).rows_quarantined == 0


@pytest.mark.parametrize(
    ("column", "limit"),
    [("first_name", 100), ("street_address", 200), ("city", 100), ("last_name", 100)],
)
def test_a_value_longer_than_its_column_allows_is_quarantined(conn, root, column, limit):
    deliver(
        root,
        "bank",
        "customers",
        [
            row("bank", "customers", 1, **{column: "a" * limit}),
            row("bank", "customers", 2, **{column: "a" * 200_000}),
        ],
    )

    r = ingest(conn, "bank", "customers", root)

    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    [(_, line, reason, _)] = quarantined(conn, "bank", "customers")
    assert (line, reason) == (3, f"too long {column}: 200000 characters, at most {limit}")


def test_an_email_of_254_characters_loads_and_one_of_255_does_not(conn, root):
    ok = "k" * 64 + "@" + "e" * 186 + ".no"
    deliver(
        root,
        "bank",
        "customers",
        [row("bank", "customers", 1, email=ok), row("bank", "customers", 2, email=ok + "x")],
    )

    r = ingest(conn, "bank", "customers", root)

    assert len(ok) == 254 and r.reasons == {"too long email": 1}


def test_a_generated_landing_set_loads_with_nothing_quarantined(conn, tmp_path):
    from dagster_project.landing.contract import TABLES
    from dagster_project.landing.generate import generate

    root = tmp_path / "generated"
    generate(root, persons=300, seed=3, as_of=dt.date(2026, 11, 2), progress=False)

    for t in TABLES:
        r = ingest(conn, t.source, t.name, root)
        assert r.rows_quarantined == 0, (t.source, t.name, r.reasons)


# --- a bad file set aside, privacy events never lost quietly (issue 14) ----------------------


def _customers(root, n=2, day=DAY):
    return deliver(
        root, "bank", "customers", [row("bank", "customers", i) for i in range(n)], day=day
    )


@pytest.mark.parametrize(
    ("content", "what", "line"),
    [
        (b"customer_no,national_id\nB0000\x000001,x\n", "contains NUL bytes (first on line 2)", 2),
        (
            "customer_no\nBjørn\n".encode("latin-1"),
            "not UTF-8 (invalid byte sequence on line 2)",
            2,
        ),
        (b"", "empty file without header row", 1),
        (b"account_no;customer_no\nA1;B1\n", "is not a comma-separated extract", 1),
    ],
)
def test_an_unreadable_file_of_an_ordinary_table_is_set_aside_and_the_rest_loads(
    conn, root, tmp_path, content, what, line
):
    from catalog.file_quarantine import set_aside_files

    _customers(root)
    bad = root / "bank" / "customers" / "2024-03-02.csv"
    bad.write_bytes(content)
    folder = tmp_path / "quarantine" / "files"

    r = ingest_table(conn, "bank", "customers", root, allow_synthetic=True, file_quarantine=folder)

    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (2, 2, 0)
    assert r.files == ("bank/customers/2024-03-01.csv",)
    [aside] = r.set_aside
    assert not bad.exists() and aside.file == folder / "bank" / "customers" / bad.name
    assert aside.file.read_bytes() == content  # nothing lost
    assert aside.original == str(bad) and what in aside.reason and "; " in aside.reason
    meta = json.loads((aside.file.parent / (bad.name + ".json")).read_text())
    assert meta["sha256"] == __import__("hashlib").sha256(content).hexdigest()
    assert meta["size"] == len(content) and meta["reason"] == aside.reason
    assert set_aside_files(folder) == [aside]
    assert set_aside_files(folder, "bank", "accounts") == []
    # The next run finds nothing left to set aside; the quarantined file stays listed.
    again = ingest_table(
        conn, "bank", "customers", root, allow_synthetic=True, file_quarantine=folder
    )
    assert again.set_aside == () and again.rows_loaded == 2
    assert [f.file for f in set_aside_files(folder)] == [aside.file]
    assert line  # the line is named in the reason where known


def test_a_file_not_named_after_its_delivery_date_is_set_aside_too(conn, root, tmp_path):
    _customers(root)
    odd = root / "bank" / "customers" / "customers_final.csv"
    odd.write_text("whatever")
    folder = tmp_path / "q"

    r = ingest_table(conn, "bank", "customers", root, allow_synthetic=True, file_quarantine=folder)

    assert r.rows_loaded == 2 and [f.file.name for f in r.set_aside] == ["customers_final.csv"]
    assert "not a delivery file" in r.set_aside[0].reason


def test_a_second_bad_file_of_the_same_name_keeps_the_first(tmp_path):
    from catalog.file_quarantine import set_aside, set_aside_files

    src = tmp_path / "landing" / "2024-03-01.csv"
    src.parent.mkdir()
    src.write_bytes(b"\x00one")
    first = set_aside(src, tmp_path / "q", "bank", "cards", "one")
    src.write_bytes(b"\x00two")
    second = set_aside(src, tmp_path / "q", "bank", "cards", "two")

    assert first.file != second.file
    assert {f.file.read_bytes() for f in set_aside_files(tmp_path / "q")} == {
        b"\x00one",
        b"\x00two",
    }


OBJECTION = {
    "national_id": NID,
    "scope": "direct_marketing",
    "event_time": "2024-03-01T10:00:00+01:00",
    "action": "object",
}


def _unapplied(conn):
    from dagster_project.landing.load import unapplied_events

    return {k: [(u.file, u.line, u.reason) for u in v] for k, v in unapplied_events(conn).items()}


def test_an_unknown_column_does_not_hide_an_objection(conn, root, tmp_path):
    header = ["comment", *CONTRACT["privacy"]["objections"].column_names]
    deliver(root, "privacy", "objections", [{**OBJECTION, "comment": "by phone"}], header=header)

    r = ingest_table(
        conn, "privacy", "objections", root, allow_synthetic=True, file_quarantine=tmp_path
    )

    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    assert r.ignored_columns == ((f"privacy/objections/{DAY}.csv", "comment"),)
    assert raw(conn, "privacy", "objections", "national_id, scope, action") == [
        (NID, "direct_marketing", "object")
    ]
    assert r.unapplied == () and _unapplied(conn) == {}


def test_an_ordinary_table_still_rejects_an_unknown_column(conn, root, tmp_path):
    header = [*CONTRACT["bank"]["customers"].column_names, "nickname"]
    deliver(root, "bank", "customers", [row("bank", "customers", 1)], header=header)

    r = ingest_table(
        conn, "bank", "customers", root, allow_synthetic=True, file_quarantine=tmp_path
    )

    assert (r.rows_loaded, r.rows_quarantined, r.ignored_columns) == (0, 1, ())


def test_a_privacy_log_missing_a_contract_column_rejects_and_records_every_event(conn, root):
    header = ["national_id", "scope", "event_time"]
    deliver(root, "privacy", "objections", [OBJECTION], header=header)

    r = ingest(conn, "privacy", "objections", root)

    assert (r.rows_loaded, r.rows_quarantined) == (0, 1)
    assert _unapplied(conn) == {
        ("privacy", "objections"): [
            (f"privacy/objections/{DAY}.csv", 2, "rejected (missing column action)")
        ]
    }


def test_a_rejected_restricting_event_is_recorded_and_a_rejected_permissive_one_is_not(conn, root):
    deliver(
        root,
        "privacy",
        "objections",
        [
            {**OBJECTION, "national_id": "12345678901"},  # an objection: restricts
            {**OBJECTION, "national_id": "12345678902", "action": "withdraw"},  # permissive
            {**OBJECTION, "national_id": "12345678903", "action": "objekt"},  # unknown: restricts
        ],
    )
    consents = [
        {**row("privacy", "group_sharing_consents", 1), "national_id": "1", "consent": c}
        for c in ("withdrawn", "granted")
    ]
    consents[1]["event_time"] = "2024-03-02T10:00:00+01:00"
    deliver(root, "privacy", "group_sharing_consents", consents)

    ingest(conn, "privacy", "objections", root)
    ingest(conn, "privacy", "group_sharing_consents", root)

    got = _unapplied(conn)
    assert got[("privacy", "objections")] == [
        (f"privacy/objections/{DAY}.csv", 2, "rejected (bad national_id)"),
        (f"privacy/objections/{DAY}.csv", 4, "rejected (bad national_id, not allowed action)"),
    ]
    assert got[("privacy", "group_sharing_consents")] == [
        (f"privacy/group_sharing_consents/{DAY}.csv", 2, "rejected (bad national_id)")
    ]
    assert "12345678901" not in str(got)  # kinds only, never a value


def test_an_unreadable_privacy_file_stays_in_place_and_is_recorded(conn, root, tmp_path):
    deliver(root, "privacy", "objections", [OBJECTION])
    bad = root / "privacy" / "objections" / "2024-03-02.csv"
    bad.write_bytes(b"national_id,scope,event_time,action\n\x00\n")

    r = ingest_table(
        conn, "privacy", "objections", root, allow_synthetic=True, file_quarantine=tmp_path / "q"
    )

    assert bad.exists() and r.set_aside == () and r.rows_loaded == 1
    [(file, line, reason)] = _unapplied(conn)[("privacy", "objections")]
    assert (file, line) == ("privacy/objections/2024-03-02.csv", 2)
    assert reason.startswith("contains NUL bytes")
    # Fixed and delivered again: nothing is left unapplied.
    deliver(root, "privacy", "objections", [{**OBJECTION, "scope": "profiling"}], day="2024-03-02")
    ingest_table(
        conn, "privacy", "objections", root, allow_synthetic=True, file_quarantine=tmp_path / "q"
    )
    assert _unapplied(conn) == {}


@pytest.mark.parametrize("broken", ["unreadable", "bad national_id"])
def test_an_erasure_request_that_cannot_be_applied_stops_and_changes_nothing(
    conn, root, tmp_path, broken
):
    header = "request_id,national_id,received_at\n"
    good = f"R1,{NID},2024-03-01T10:00:00+01:00\n"
    deliver(root, "privacy", "erasure_requests", header[:-1].split(",") and [])
    (root / "privacy" / "erasure_requests" / f"{DAY}.csv").write_text(header + good)
    ingest(conn, "privacy", "erasure_requests", root)
    before = raw(conn, "privacy", "erasure_requests")
    bad = root / "privacy" / "erasure_requests" / "2024-03-02.csv"
    if broken == "unreadable":
        bad.write_bytes(header.encode() + b"R2,\x00\n")
    else:
        bad.write_text(header + "R2,12345678901,2024-03-02T10:00:00+01:00\n")

    with pytest.raises(IngestError) as err:
        ingest_table(
            conn,
            "privacy",
            "erasure_requests",
            root,
            allow_synthetic=True,
            file_quarantine=tmp_path,
        )

    assert str(err.value).startswith(f"{bad}: ") and "\n" not in str(err.value)
    assert err.value.line == 2 and bad.exists()
    assert raw(conn, "privacy", "erasure_requests") == before
