"""The portability export (GDPR Art. 20): declarations that do not exist fail closed (fast, the
mini manifest); on generated landing data ingested under tmp_path (slow: the real project is
compiled), the export holds the declared sections of the person and nothing else."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from catalog.cli import main
from catalog.national_id import check_digits
from catalog.settings import KEY_ENV
from dagster_project.landing.contract import TABLES

SECTIONS = {
    "bank_customer",
    "insurance_customer",
    "pension_customer",
    "group_sharing_consents",
    "objections",
    "cookie_consents",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={KEY_ENV: ""})
    return result.exit_code, result.stdout, result.stderr


def test_cli_invalid_number_exits_2_with_one_line():
    code, out, err = run("export", "02016126008", "--manifest", "/nonexistent/manifest.json")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "check digits are wrong" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_a_declared_table_missing_from_the_catalog_fails_closed(mini_manifest_path, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    code, out, err = run(
        "export", "02016126007", "--manifest", str(mini_manifest_path),
        "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "portability.sections.bank_customer.table names bank.customers" in err


def test_cli_zip_needs_csv(tmp_path):
    code, _, err = run(
        "export", "02016126007", "--out", str(tmp_path / "x.zip"), "--format", "json",
        "--manifest", "/nonexistent/manifest.json",
    )  # fmt: skip
    assert code == 2 and "give --format csv" in err and not (tmp_path / "x.zip").exists()


# -- generated data, ingested (slow: compiles the real project) --------------------------------


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """200 generated persons ingested into raw tables (no dbt needed: the export reads sources)."""
    from dagster_project.landing.generate import generate
    from dagster_project.landing.load import ingest_table

    root = tmp_path_factory.mktemp("export")
    generate(root / "landing", persons=200, seed=11, as_of=dt.date.today(), progress=False)
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        for t in TABLES:
            ingest_table(conn, t.source, t.name, root / "landing", allow_synthetic=True)
    return warehouse


def _query(warehouse: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def person(landed) -> str:
    """A bank customer with a consent event, an objection and a linked cookie consent."""
    rows = _query(
        landed,
        "select c.national_id from raw_bank.customers c "
        "join raw_privacy.group_sharing_consents g using (national_id) "
        "join raw_web.page_views v using (national_id) "
        "join raw_privacy.cookie_consents k on k.visitor_id = v.visitor_id "
        "order by (c.national_id in (select national_id from raw_privacy.objections)) desc, "
        "c.national_id limit 1",
    )
    assert rows, "no bank customer with a consent and a linked cookie consent"
    return rows[0][0]


def _common(real_project, landed) -> list[str]:
    return [
        "--manifest", str(real_project[1]), "--warehouse", str(landed), "--synthetic",
    ]  # fmt: skip


@pytest.mark.slow
def test_json_holds_the_declared_sections_and_nothing_else(real_project, landed, person):
    code, out, _ = run("export", person, *_common(real_project, landed), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["portability_export"] == "GDPR Art. 20" and data["data_found"]
    assert set(data["sections"]) == SECTIONS
    bank = data["sections"]["bank_customer"]
    (customer,) = bank["rows"]
    email, phone = _query(
        landed, "select email, phone from raw_bank.customers where national_id = ?", person
    )[0]
    assert customer["email"] == email and customer["phone"] == phone
    assert set(customer) == set(bank["columns"]) and "customer_since" not in customer

    consents = data["sections"]["group_sharing_consents"]["rows"]
    expected = _query(
        landed,
        "select distinct consent, channel from raw_privacy.group_sharing_consents "
        "where national_id = ?",
        person,
    )
    assert {(r["consent"], r["channel"]) for r in consents} == set(expected)
    objections = _query(
        landed, "select distinct scope, action from raw_privacy.objections where national_id = ?",
        person,
    )  # fmt: skip
    got = {(r["scope"], r["action"]) for r in data["sections"]["objections"]["rows"]}
    assert got == set(objections)

    linked = {
        r[0]
        for r in _query(
            landed, "select visitor_id from raw_web.page_views where national_id = ?", person
        )
    }
    cookies = data["sections"]["cookie_consents"]["rows"]
    assert cookies and {r["visitor_id"] for r in cookies} <= linked

    # nothing else: no securities, funds, scores, page views or fraud data
    text = out.lower()
    for absent in ("isin", "market_value", "fund_code", "score", "page_path", "case_no"):
        assert absent not in text, absent


@pytest.mark.slow
def test_csv_and_zip_have_the_same_values(real_project, landed, person, tmp_path):
    code, out, _ = run("export", person, *_common(real_project, landed), "--format", "json")
    sections = json.loads(out)["sections"]
    code, out, _ = run("export", person, *_common(real_project, landed), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["section"] for r in rows} <= SECTIONS
    emails = [r["value"] for r in rows if r["column"] == "email"]
    assert emails == [sections["bank_customer"]["rows"][0]["email"]]
    assert len(rows) == sum(len(s["rows"]) * len(s["columns"]) for s in sections.values())

    target = tmp_path / "export.zip"
    code, out, _ = run(
        "export", person, *_common(real_project, landed), "--format", "csv", "--out", str(target)
    )
    assert code == 0 and out.startswith(f"wrote {target}: ")
    with zipfile.ZipFile(target) as z:
        assert set(z.namelist()) == {f"{s}.csv" for s in SECTIONS}
        objections = list(csv.DictReader(io.StringIO(z.read("objections.csv").decode())))
        head = z.read("objections.csv").decode().splitlines()[0]
    assert head == ",".join(sections["objections"]["columns"])
    assert len(objections) == len(sections["objections"]["rows"])


@pytest.mark.slow
def test_nothing_held_exits_1_and_a_missing_warehouse_2(real_project, landed, tmp_path):
    held = {r[0] for r in _query(landed, "select national_id from raw_bank.customers")}
    nine = next(
        n for i in range(100, 999) if (n := f"0185{i:05d}") and check_digits(n)
        and n + check_digits(n) not in held
    )  # fmt: skip
    stranger = nine + check_digits(nine)
    code, out, err = run("export", stranger, *_common(real_project, landed))
    assert code == 1
    assert json.loads(out)["data_found"] is False
    assert err.strip() == f"no data held about {stranger} in {landed}"

    missing = tmp_path / "none.duckdb"
    code, out, err = run(
        "export", stranger, "--manifest", str(real_project[1]), "--warehouse", str(missing),
        "--synthetic",
    )  # fmt: skip
    assert code == 2 and err.startswith("error: no warehouse at") and out == ""
