"""The access report (GDPR Art. 15): the number's validation (fast), then a warehouse built from
generated landing data (ingest + dbt, slow) searched for one person found in the register, a
marketing output and the credit output."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from catalog.cli import main
from catalog.loader import load_catalog
from catalog.manifest import load_manifest
from catalog.national_id import InvalidNationalId, check_digits, check_national_id
from catalog.pseudonym import hmac_sha256_hex
from catalog.reports import access
from catalog.reports.access.values import json_value
from catalog.settings import KEY_ENV
from dagster_project.landing.contract import TABLES
from dagster_project.project import DBT_PROJECT_DIR

KEY = "access-test-key"
PERSONS = 300


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


# -- the number (fast) -------------------------------------------------------------------------


def test_valid_numbers_pass_and_invalid_ones_say_why():
    assert check_national_id("02016126007", allow_synthetic=False) == "02016126007"
    assert check_national_id(" 311299 56715 ", allow_synthetic=False) == "31129956715"
    with pytest.raises(InvalidNationalId, match="must be 11 digits"):
        check_national_id("0201612600", allow_synthetic=False)
    with pytest.raises(InvalidNationalId, match="check digits are wrong"):
        check_national_id("02016126008", allow_synthetic=False)
    synthetic = "0181" + "61" + "260"
    synthetic += check_digits(synthetic)
    with pytest.raises(InvalidNationalId, match="synthetic test number"):
        check_national_id(synthetic, allow_synthetic=False)
    assert check_national_id(synthetic, allow_synthetic=True) == synthetic


def test_cli_key_file_given_but_missing_exits_2(mini_manifest_path, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    missing = tmp_path / "missing.key"
    code, out, err = run(
        "access", "02016126007", "--manifest", str(mini_manifest_path), "--key-file", str(missing)
    )
    assert code == access.EXIT_ERROR == 2 and out == ""
    assert (
        err.strip()
        == f"error: no pseudonymisation key file at {missing}; give the right --key-file"
    )


@pytest.mark.parametrize(
    ("number", "message"),
    [("1234", "must be 11 digits"), ("02016126008", "check digits are wrong")],
)
def test_cli_invalid_number_exits_2_with_one_line(number, message):
    code, out, err = run("access", number, "--manifest", "/nonexistent/manifest.json")
    assert code == access.EXIT_ERROR == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- a built warehouse (slow) ------------------------------------------------------------------


class Built:
    def __init__(self, root: Path, warehouse: Path, manifest: Path):
        self.root, self.warehouse, self.manifest_path = root, warehouse, manifest
        self.catalog = load_catalog(load_manifest(manifest, project_dir=str(DBT_PROJECT_DIR)))

    def query(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return conn.execute(sql, params).fetchall()

    def rows(self, sql: str, *params) -> list[dict]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def report(
        self,
        nid: str,
        key: bytes | None = KEY.encode(),
        warehouse: Path | None = None,
        now: dt.datetime | None = None,
    ):
        return access.access_report(
            self.catalog, nid, warehouse or self.warehouse, key=key, allow_synthetic=True, now=now
        )


def _dbt(args: list[str], tmp: Path) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            *args,
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(tmp / "target"),
            "--log-path", str(tmp / "logs"),
            "--quiet",
        ]
    )  # fmt: skip
    if not result.success:
        pytest.fail(f"dbt {args[0]} failed: {result.exception or result.result}")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """~300 generated persons, ingested and built with dbt (seed + run) under tmp_path."""
    from dagster_project.landing.generate import generate
    from dagster_project.landing.load import ingest_table

    root = tmp_path_factory.mktemp("access")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate(landing, persons=PERSONS, seed=5, as_of=dt.date.today(), progress=False)
    with duckdb.connect(str(warehouse)) as conn:
        for t in TABLES:
            ingest_table(conn, t.source, t.name, landing, allow_synthetic=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_WAREHOUSE", str(warehouse))
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", KEY)
        mp.setenv("FJORDBANK_DATA_DIR", str(root / "data"))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        _dbt(["seed"], root)
        _dbt(["run"], root)
    # dbt-duckdb keeps its connection open in this process: the tests read a copy.
    built = root / "built" / "warehouse.duckdb"
    built.parent.mkdir()
    for suffix in ("", ".wal"):
        if Path(f"{warehouse}{suffix}").exists():
            shutil.copy(f"{warehouse}{suffix}", f"{built}{suffix}")
    return Built(root, built, root / "target" / "manifest.json")


def _pid(nid: str) -> str:
    return hmac.new(KEY.encode(), nid.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def subject(built) -> str:
    """A person in the register, a marketing output (scores, social matching) and credit."""
    rows = built.query(
        "select r.national_id from main.group_customer_register r "
        "join main.marketing_social_matching_audience using (person_id) "
        "join main.credit_group_exposure using (person_id) "
        "where person_id in (select person_id from main.marketing_propensity_scores) "
        "order by r.national_id limit 1"
    )
    assert rows, "the generated data has nobody in register, marketing and credit outputs"
    return rows[0][0]


def _table(report, name: str) -> dict:
    found = [t for t in report.tables if t["table"] == name]
    assert found, f"{name} not in the report: {[t['table'] for t in report.tables]}"
    return found[0]


@pytest.mark.slow
def test_person_is_found_in_register_marketing_and_credit_with_values(built, subject):
    report = built.report(subject)
    assert report.found and report.exit_code == 0
    pid = _pid(subject)

    register = _table(report, "main.group_customer_register")
    assert {"national_id", "person_id", "bank_customer_no"} <= set(register["matched_on"])
    (row,) = register["rows"]
    values = {c["column"]: c["value"] for c in row}
    expected = built.rows(
        "select * from main.group_customer_register where national_id = ?", subject
    )
    assert values == {k: json_value(v) for k, v in expected[0].items()}
    assert values["person_id"] == pid

    scores = _table(report, "main.marketing_propensity_scores")
    db_scores = built.rows(
        "select scenario, score from main.marketing_propensity_scores where person_id = ?", pid
    )
    got = {
        (cols["scenario"], cols["score"])
        for cols in ({c["column"]: c["value"] for c in r} for r in scores["rows"])
    }
    assert got == {(r["scenario"], r["score"]) for r in db_scores} and len(got) == 6

    credit = _table(report, "main.credit_group_exposure")
    assert credit["matched_on"] == ["person_id"] and len(credit["rows"]) == 1
    tags = {c["column"]: c for c in credit["rows"][0]}
    assert tags["person_id"]["purposes"] == ["finance.credit_assessment"]
    assert tags["person_id"]["retention"] == "P1D"

    matching = _table(report, "main.marketing_social_matching_audience")
    email = {c["column"]: c for c in matching["rows"][0]}["email_sha256"]
    assert email["category"] == "user.contact.email"
    assert email["purposes"] == ["marketing.advertising.customer_matching"]

    # the bank's own tables are found through the customer number learnt from the register
    accounts = [t for t in report.tables if t["table"] == "raw_bank.accounts"]
    if accounts:
        assert accounts[0]["matched_on"] == ["customer_no"]
    customers = _table(report, "raw_bank.customers")
    cust = {c["column"]: c for c in customers["rows"][0]}
    assert cust["national_id"]["value"] == subject
    assert cust["email"]["source_company"] == ["Fjordbank ASA"]
    assert cust["email"]["legal_basis"] == ["contract"]


@pytest.mark.slow
def test_every_column_of_every_row_carries_its_tags(built, subject):
    report = built.report(subject)
    assert len(report.tables) >= 10
    for table in report.tables:
        for row in table["rows"]:
            for col in row:
                where = f"{table['table']}.{col['column']}"
                assert "untagged" not in col, where
                assert col["category"] and col["purposes"] and col["legal_basis"], where
                assert col["retention"] and col["source_company"], where


@pytest.mark.slow
def test_pseudonyms_are_computed_with_the_key_and_profiling_and_recipients_are_stated(
    built, subject
):
    report = built.report(subject)
    pid = _pid(subject)
    dev = _table(report, "main.model_development_dataset")
    pseudonym = {c["column"]: c["value"] for c in dev["rows"][0]}["pseudonym"]
    assert pseudonym == hmac_sha256_hex(f"model_development:{pid}", KEY.encode())
    how = {i["value"]: i["how"] for i in report.identifiers}
    assert how[subject] == "the number given"
    assert how[pid].startswith("computed from the National Identification Number")
    assert "FJORDBANK_HMAC_SHA256(" in how[pid]

    (scores,) = [p for p in report.profiling if p["table"] == "main.marketing_propensity_scores"]
    assert [s["column"] for s in scores["scores"]] == ["score"]
    assert {r["scenario"] for r in scores["results"]} == {
        "mortgage", "savings", "funds", "insurance", "pension", "credit_card",
    }  # fmt: skip
    features = {f["column"]: f for f in scores["features"]}
    assert {"marketing_scoring_features.age", "marketing_scoring_features.balance_band"} <= set(
        features
    )
    assert "marketing_scoring_features.person_id" not in features  # an identifier, not a feature
    age = built.query("select age from main.marketing_scoring_features where person_id = ?", pid)
    assert features["marketing_scoring_features.age"]["value"] == age[0][0]

    recipients = {r["purpose"]: " ".join(r["recipients"]) for r in report.recipients}
    assert "Schibsted" in recipients["marketing.advertising.customer_matching"]
    assert "Meta" in recipients["marketing.advertising.customer_matching"]
    assert "finance.credit_assessment" in recipients

    text = access.render_markdown(report)
    assert f"# Access report (GDPR Art. 15): national identity number {subject}" in text
    assert "### main.credit_group_exposure" in text and "## Profiling (Art. 15(1)(h))" in text


@pytest.mark.slow
def test_without_the_key_pseudonyms_are_found_only_next_to_the_number(built, subject):
    report = built.report(subject, key=None)
    names = {t["table"] for t in report.tables}
    assert "main.group_customer_register" in names and "main.credit_group_exposure" in names
    assert "main.model_development_dataset" not in names
    assert any(
        "model_development_dataset.pseudonym (computed identifier) could not be computed" in n
        for n in report.notes
    )
    with pytest.raises(access.AccessError, match="key does not match the warehouse"):
        built.report(subject, key=b"the wrong key")


@pytest.mark.slow
def test_someone_elses_rows_on_a_shared_device_are_left_out(built, tmp_path):
    rows = built.query(
        "select national_id, visitor_id from raw_web.page_views where national_id is not null "
        "order by view_id limit 1"
    )
    if not rows:
        pytest.skip("the generated data has no logged-in page view")
    nid, visitor = rows[0]
    other = built.query(
        "select national_id from main.group_customer_register where national_id <> ? limit 1", nid
    )[0][0]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        for view_id, national_id, path in (
            ("shared-1", other, "/other-person"),
            ("shared-2", None, "/not-logged-in"),
        ):
            conn.execute(
                "insert into raw_web.page_views select * replace (? as view_id, ? as national_id,"
                " ? as page_path) from raw_web.page_views where visitor_id = ? limit 1",
                [view_id, national_id, path, visitor],
            )
    report = built.report(nid, warehouse=copy)
    views = _table(report, "raw_web.page_views")
    paths = {c["value"] for r in views["rows"] for c in r if c["column"] == "page_path"}
    assert "/not-logged-in" in paths and "/other-person" not in paths
    assert views["matched_on"] == ["national_id", "visitor_id"]


@pytest.mark.slow
def test_cli_access_json_not_found_and_exit_codes(built, subject, tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(KEY + "\n")
    common = [
        "--manifest", str(built.manifest_path), "--project-dir", str(DBT_PROJECT_DIR),
        "--warehouse", str(built.warehouse), "--key-file", str(key_file), "--synthetic",
    ]  # fmt: skip
    env = {KEY_ENV: ""}
    code, out, _ = run("access", subject, *common, "--format", "json", env=env)
    assert code == 0
    data = json.loads(out)
    assert data["data_found"] and data["national_id"] == subject
    assert any(t["table"] == "main.credit_group_exposure" for t in data["tables"])

    # a valid number nobody in the data has: exit 1, the report says no data is held
    held = {r[0] for r in built.query("select national_id from raw_bank.customers")}
    nine = next(
        n
        for i in range(100, 999)
        if (n := f"0185{i:05d}") and check_digits(n) and n + check_digits(n) not in held
    )
    stranger = nine + check_digits(nine)
    code, out, err = run("access", stranger, *common, env=env)
    assert code == 1
    assert "No data about this person is held" in out
    assert err.strip() == f"no data held about {stranger} in {built.warehouse}"

    # synthetic numbers need --synthetic (or FJORDBANK_SYNTHETIC_DATA=true)
    code, _, err = run("access", subject, *common[:-1], "--no-synthetic", env=env)
    assert code == 2 and "synthetic test number" in err

    missing = str(tmp_path / "none.duckdb")
    code, _, err = run("access", subject, *common[:4], "--synthetic", "--warehouse", missing)
    assert code == 2 and err.startswith("error: no warehouse at")


# -- the exemption of open fraud cases (fast: a hand-made manifest, no dbt) -------------------

FRAUD = {
    "purposes": ["essential.fraud_detection"],
    "legal_basis": "legal_obligation",
    "retention": "P10Y",
}


def _fraud_catalog(tmp_path: Path, model_sql: str | None, columns: dict[str, str] | None):
    """The mini project with the source risk.fraud_cases and, if given, one table built from
    it (``main.fraud_view`` with ``model_sql``)."""
    from mini_project import NID, _model, _source, manifest_dict, write_manifest

    data = manifest_dict()
    fraud = _source(
        "risk",
        "fraud_cases",
        {
            "case_no": "user.financial.fraud",
            "national_id": NID,
            "category": "user.financial.fraud",
            "closed_on": "user.financial.fraud",
            "_delivery_date": "system.operations",
            "_source_file": "system.operations",
            "_source_line": "system.operations",
        },
        FRAUD,
    )
    data["sources"][fraud["unique_id"]] = fraud
    if model_sql is not None:
        model = _model(
            "fraud_view", "marts/fraud", model_sql, [fraud["unique_id"]], columns or {}, FRAUD
        )
        data["nodes"][model["unique_id"]] = model
    return load_catalog(load_manifest(write_manifest(tmp_path, data)))


def _fraud_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema raw_risk")
        conn.execute(
            "create table raw_risk.fraud_cases (case_no varchar, national_id varchar, category "
            "varchar, closed_on date, _delivery_date date, _source_file varchar, _source_line "
            "bigint)"
        )
        conn.execute(
            "insert into raw_risk.fraud_cases values "
            # open
            "('F1', '02016126007', 'card_fraud', null, '2026-01-01', 'a.csv', 2),"
            # closed
            "('F2', '02016126007', 'identity_theft', '2024-05-01', '2024-01-01', 'b.csv', 2),"
            # open in an older delivery, closed in the latest: closed
            "('F3', '02016126007', 'romance_scam', null, '2023-01-01', 'c.csv', 2),"
            "('F3', '02016126007', 'romance_scam', '2023-06-01', '2023-07-01', 'd.csv', 2),"
            # closed in an older delivery, open again in the latest: open
            "('F4', '02016126007', 'card_fraud', '2022-01-01', '2022-01-01', 'e.csv', 2),"
            "('F4', '02016126007', 'card_fraud', null, '2025-01-01', 'f.csv', 2)"
        )
    return path


def test_open_cases_are_the_latest_delivery_without_closed_on(tmp_path):
    from catalog.reports.access.exemptions import Withholding

    catalog = _fraud_catalog(tmp_path, None, None)
    wh = _fraud_warehouse(tmp_path / "w.duckdb")
    uid = "source.fjordbank.risk.fraud_cases"
    with duckdb.connect(str(wh), read_only=True) as conn:
        w = Withholding(catalog, conn, {uid: ("raw_risk.fraud_cases", [])})
    assert w.rules[0].open_keys == {("F1",), ("F4",)}
    cols = ["case_no", "national_id", "category", "closed_on"]
    assert w.withholds(uid, cols, ("F4", "x", "card_fraud", dt.date(2022, 1, 1)))
    assert not w.withholds(uid, cols, ("F3", "x", "romance_scam", None))
    assert w.withholds(uid, cols, (None, "x", "card_fraud", None))  # no key: its own column
    # quarantined records: an open key, an empty closed_on, or an unreadable line
    assert w.withholds_quarantined("risk", "fraud_cases", '{"case_no": "F1", "closed_on": "x"}')
    assert w.withholds_quarantined("risk", "fraud_cases", '{"case_no": "F9", "closed_on": ""}')
    assert w.withholds_quarantined("risk", "fraud_cases", '{"_raw": "F9,02016126007"}')
    assert not w.withholds_quarantined(
        "risk", "fraud_cases", '{"case_no": "F2", "closed_on": "2024-05-01"}'
    )
    assert not w.withholds_quarantined("bank", "customers", '{"case_no": "F1"}')


def test_a_table_derived_row_by_row_is_withheld_by_its_copy_of_the_key(tmp_path):
    from catalog.reports.access.exemptions import Withholding

    catalog = _fraud_catalog(
        tmp_path,
        'select f.case_no as fraud_case, f.national_id from "warehouse"."raw_risk"."fraud_cases" f',
        {"fraud_case": "user.financial.fraud", "national_id": NID_CATEGORY},
    )
    wh = _fraud_warehouse(tmp_path / "w.duckdb")
    searchable = {
        "source.fjordbank.risk.fraud_cases": ("raw_risk.fraud_cases", []),
        "model.fjordbank.fraud_view": ("main.fraud_view", []),
    }
    with duckdb.connect(str(wh), read_only=True) as conn:
        w = Withholding(catalog, conn, searchable)
    assert w.rules[0].key_copies["model.fjordbank.fraud_view"] == ["fraud_case"]
    model = "model.fjordbank.fraud_view"
    assert w.withholds(model, ["national_id", "fraud_case"], ("x", "F1"))
    assert not w.withholds(model, ["national_id", "fraud_case"], ("x", "F2"))


NID_CATEGORY = "user.government_id.national_identification_number"


@pytest.mark.parametrize(
    ("sql", "columns", "message"),
    [
        (
            'select national_id, count(*) as cases from "warehouse"."raw_risk"."fraud_cases" '
            "group by national_id",
            {"national_id": NID_CATEGORY, "cases": "user.financial.fraud"},
            "carries no copy of case_no",
        ),
        (
            "select case_no, national_id, count(*) over (partition by national_id) as cases "
            'from "warehouse"."raw_risk"."fraud_cases"',
            {"case_no": "user.financial.fraud", "national_id": NID_CATEGORY,
             "cases": "user.financial.fraud"},
            "computed over several rows of risk.fraud_cases",
        ),
    ],
)  # fmt: skip
def test_a_derived_table_whose_rows_cannot_be_withheld_fails_closed(
    tmp_path, sql, columns, message
):
    from catalog.reports.access.exemptions import Withholding

    catalog = _fraud_catalog(tmp_path, sql, columns)
    searchable = {"model.fjordbank.fraud_view": ("main.fraud_view", [])}
    with pytest.raises(access.AccessError, match=message):
        Withholding(catalog, None, {"source.fjordbank.risk.fraud_cases": ("x", []), **searchable})


def test_cli_a_withheld_table_missing_from_the_catalog_fails_closed(mini_manifest_path, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    code, out, err = run(
        "access", "02016126007", "--manifest", str(mini_manifest_path),
        "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "access.withheld[0].table names risk.fraud_cases, which is not a dbt source" in err


def test_cli_a_withheld_column_missing_fails_closed(tmp_path):
    from mini_project import controller_doc

    catalog_dir = tmp_path / "c"
    catalog_dir.mkdir()
    _fraud_catalog(catalog_dir, None, None)
    doc = controller_doc()
    doc["access"]["withheld"][0]["while_null"] = "closed_at"
    controller = tmp_path / "controller.yml"
    import yaml

    controller.write_text(yaml.safe_dump(doc))
    warehouse = _fraud_warehouse(tmp_path / "w.duckdb")
    code, out, err = run(
        "access", "02016126007", "--manifest", str(catalog_dir / "target" / "manifest.json"),
        "--warehouse", str(warehouse), "--controller", str(controller),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "access.withheld[0].while_null names column closed_at of risk.fraud_cases" in err


# -- no tipping off (slow: the built warehouse) ------------------------------------------------

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _both(built: Built, nid: str, warehouse: Path) -> tuple[str, str, int]:
    report = built.report(nid, warehouse=warehouse, now=NOW)
    return access.render_markdown(report), access.render_json(report), report.exit_code


def _add_case(conn, nid: str, case_no: str, closed_on: str | None) -> None:
    conn.execute(
        "insert into raw_risk.fraud_cases select * replace (? as case_no, ? as national_id, "
        "cast(? as date) as closed_on, 'fraud/x.csv' as _source_file) "
        "from raw_risk.fraud_cases limit 1",
        [case_no, nid, closed_on],
    )


def _quarantine(conn, source: str, table: str, record: dict, line: int = 7) -> None:
    conn.execute(
        "insert into quarantine.rejected_rows values (?, ?, ?, ?, ?, ?)",
        [source, table, f"{source}/{table}/2026-01-02.csv", line, "bad category: 'x'",
         json.dumps(record)],
    )  # fmt: skip


@pytest.mark.slow
def test_an_open_fraud_case_leaves_no_trace_in_the_report(built, subject, tmp_path):
    """The report of a person with an open case (its rows, a quarantined record of it, a case
    open again after being closed) is byte for byte the report without them."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        _add_case(conn, subject, "FC-OPEN-1", None)
        conn.execute(  # closed in an older delivery, open in the latest
            "insert into raw_risk.fraud_cases select * replace ('FC-OPEN-2' as case_no, "
            "? as national_id, ? as closed_on, ? as _delivery_date) from raw_risk.fraud_cases "
            "limit 2",
            [subject, None, dt.date(2025, 3, 1)],
        )
        conn.execute(
            "update raw_risk.fraud_cases set closed_on = date '2024-01-01', "
            "_delivery_date = date '2024-01-01' where case_no = 'FC-OPEN-2' and rowid = "
            "(select min(rowid) from raw_risk.fraud_cases where case_no = 'FC-OPEN-2')"
        )
        _quarantine(conn, "risk", "fraud_cases",
                    {"case_no": "FC-OPEN-1", "national_id": subject, "category": "x",
                     "opened_on": "2026-01-01", "closed_on": ""})  # fmt: skip
        _quarantine(conn, "risk", "fraud_cases", {"_raw": f"FC-OPEN-3,{subject},x"}, line=8)
    with_case = _both(built, subject, warehouse)
    assert "FC-OPEN" not in with_case[0] + with_case[1]
    assert "raw_risk.fraud_cases" not in with_case[1]

    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("delete from raw_risk.fraud_cases where case_no like 'FC-OPEN-%'")
        conn.execute("delete from quarantine.rejected_rows where source = 'risk'")
    without = _both(built, subject, warehouse)
    assert with_case == without


@pytest.mark.slow
def test_a_person_known_only_by_an_open_case_is_told_nothing_is_held(built, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    held = {r[0] for r in built.query("select national_id from main.int_persons_matched")}
    nine = next(
        n for i in range(100, 999) if (n := f"0185{i:05d}") and check_digits(n)
        and n + check_digits(n) not in held
    )  # fmt: skip
    stranger = nine + check_digits(nine)
    before = _both(built, stranger, warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        _add_case(conn, stranger, "FC-ONLY", None)
    after = _both(built, stranger, warehouse)
    assert after == before and after[2] == access.EXIT_NOT_FOUND
    with duckdb.connect(str(warehouse)) as conn:  # once closed, it is shown
        conn.execute("update raw_risk.fraud_cases set closed_on = date '2026-02-01' "
                     "where case_no = 'FC-ONLY'")  # fmt: skip
    report = built.report(stranger, warehouse=warehouse, now=NOW)
    assert report.exit_code == 0
    (fraud,) = [t for t in report.tables if t["table"] == "raw_risk.fraud_cases"]
    assert [{c["column"]: c["value"] for c in r}["case_no"] for r in fraud["rows"]] == ["FC-ONLY"]
    assert any(r["purpose"] == "essential.fraud_detection" for r in report.recipients)


@pytest.mark.slow
def test_closed_cases_and_quarantined_rows_are_listed(built, subject, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    customer_no = built.query(
        "select customer_no from raw_bank.customers where national_id = ?", subject
    )[0][0]
    with duckdb.connect(str(warehouse)) as conn:
        _add_case(conn, subject, "FC-CLOSED", "2025-02-03")
        _quarantine(conn, "risk", "fraud_cases",
                    {"case_no": "FC-CLOSED", "national_id": subject, "category": "x",
                     "opened_on": "2025-01-01", "closed_on": "2025-02-03"})  # fmt: skip
        # a bank account rejected for a bad product code: found through the customer number
        q1 = {"account_no": "A-Q1", "customer_no": customer_no, "product_code": "gold"}
        _quarantine(conn, "bank", "accounts", q1)
        # someone else's rejected row, and a record naming the number outside an identity field
        q2 = {"account_no": "A-Q2", "customer_no": "B99999999", "product_code": subject}
        _quarantine(conn, "bank", "accounts", q2)
    report = built.report(subject, warehouse=warehouse, now=NOW)
    fraud = _table(report, "raw_risk.fraud_cases")
    cases = {
        r["case_no"] for r in ({c["column"]: c["value"] for c in row} for row in fraud["rows"])
    }
    assert "FC-CLOSED" in cases
    quarantined = [t for t in report.tables if t["kind"] == "quarantine"]
    by_dataset = {t["dataset"]: t for t in quarantined}
    assert set(by_dataset) == {"risk.fraud_cases (rejected rows)", "bank.accounts (rejected rows)"}
    accounts = by_dataset["bank.accounts (rejected rows)"]
    assert accounts["table"] == "quarantine.rejected_rows"
    assert accounts["matched_on"] == ["customer_no"]
    (row,) = accounts["rows"]
    cells = {c["column"]: c for c in row}
    assert cells["account_no"]["value"] == "A-Q1" and cells["reason"]["value"].startswith("bad")
    assert cells["customer_no"]["category"] == "user.unique_id"
    assert cells["file"]["category"] == "system.operations"
    assert "quarantine.rejected_rows" not in " ".join(report.notes)
    text = access.render_markdown(report)
    assert "### quarantine.rejected_rows (quarantine bank.accounts (rejected rows))" in text
