"""Erasure (GDPR Art. 17): the suppression list at ingest, the CLI's input checks, and end to end
(marked slow) a delivered request carried out by the run, ``catalog erase --apply`` surviving a
full rebuild, legal holds kept and named in the receipt, a re-delivery suppressed at ingest, and
receipts without identity."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from catalog.erasure.suppression import Suppression, SuppressionMatcher, suppression_path
from catalog.pseudonym import hmac_sha256_hex
from dagster_project.landing.load import ingest_table
from tests.whole_run import AS_OF, KEY, generated_platform, run_build_everything

NID_A, NID_B = "02016126007", "31129956715"  # valid, not synthetic
HEADER = "national_id,scope,event_time,action"


# -- fast: the suppression list at ingest ---------------------------------------------------------


def _objections(root: Path, day: str, rows: list[str]) -> Path:
    folder = root / "privacy" / "objections"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_ingest_drops_erased_persons_from_raw_quarantine_and_the_landing_file(tmp_path):
    root = tmp_path / "landing"
    keep = f"{NID_B},profiling,2024-01-02T10:00:00+01:00,object"
    path = _objections(
        root,
        "2024-01-03",
        [
            f"{NID_A},profiling,2024-01-02T10:00:00+01:00,object",
            keep,
            f"{NID_A},statistics,2024-01-02T10:00:00+01:00,shout",  # quarantined: bad action
        ],
    )
    domain = "national:user.government_id.national_identification_number"
    s = Suppression()
    s.add({"privacy.objections": {"national_id": domain}}, {domain: {hmac_sha256_hex(NID_A, KEY)}})
    conn = duckdb.connect()
    r = ingest_table(
        conn,
        "privacy",
        "objections",
        root,
        allow_synthetic=False,
        suppression=SuppressionMatcher(s, KEY),
    )
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined, r.rows_suppressed) == (3, 1, 0, 2)
    assert conn.execute("select national_id from raw_privacy.objections").fetchall() == [(NID_B,)]
    assert conn.execute("select count(*) from quarantine.rejected_rows").fetchone() == (0,)
    text = path.read_text(encoding="utf-8")
    assert NID_A not in text and text == HEADER + "\n" + keep + "\n"
    # in step: a second ingest loads the same and suppresses nothing more
    again = ingest_table(
        conn,
        "privacy",
        "objections",
        root,
        allow_synthetic=False,
        suppression=SuppressionMatcher(s, KEY),
    )
    assert (again.rows_in, again.rows_loaded, again.rows_suppressed) == (1, 1, 0)


def test_the_suppression_list_holds_keyed_hashes_only_and_fails_closed(tmp_path):
    path = suppression_path(tmp_path)
    assert not Suppression.load(path)  # nothing erased yet: empty
    s = Suppression()
    s.add({"bank.customers": {"national_id": "national:x"}}, {"national:x": {"h1"}})
    s.save(path)
    assert Suppression.load(path).matches("national:x", "h1")
    path.write_text("{not json", encoding="utf-8")
    from catalog.erasure.errors import ErasureError

    with pytest.raises(ErasureError, match="cannot be read"):
        Suppression.load(path)


def test_catalog_erase_rejects_bad_input_in_one_line(tmp_path, monkeypatch):
    from catalog.cli import main

    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    bad = runner.invoke(main, ["erase", "12345678901"])
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "check digits" in bad.stderr
    bad_id = runner.invoke(main, ["erase", NID_A, "--request-id", "../x"])
    assert bad_id.exit_code == 2 and "request id" in bad_id.stderr
    nowh = runner.invoke(main, ["erase", NID_A, "--warehouse", str(tmp_path / "none.duckdb")])
    assert nowh.exit_code == 2 and "no warehouse" in nowh.stderr


# -- slow: end to end -----------------------------------------------------------------------------


def _customers(settings) -> dict[str, dict[str, str]]:
    """national_id -> the bank customer row (as delivered)."""
    out = {}
    for path in sorted((settings.landing_dir / "bank" / "customers").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                out[row["national_id"]] = row
    return out


def _identity(nid: str, customer: dict[str, str] | None) -> dict[str, str]:
    """The values that must be gone: number, keyed ids, email and phone."""
    person_id = hmac_sha256_hex(nid, KEY)
    values = {
        "national_id": nid,
        "person_id": person_id,
        "pseudonym": hmac_sha256_hex("model_development:" + person_id, KEY),
    }
    for col in ("email", "phone"):
        if customer and customer.get(col):
            values[col] = customer[col]
    return values


def _tables_holding(settings, values: dict[str, str]) -> dict[str, set[str]]:
    """Every warehouse table (every column as text) holding one of the values: table -> kinds."""
    found: dict[str, set[str]] = {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            cols = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ?",
                    [schema, table],
                ).fetchall()
            ]
            text = " || '|' || ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in cols)
            for kind, value in values.items():
                n = conn.execute(
                    f'select count(*) from "{schema}"."{table}" where contains({text}, ?)', [value]
                ).fetchone()[0]
                if n:
                    found.setdefault(f"{schema}.{table}", set()).add(kind)
    return found


def _files_holding(settings, values: dict[str, str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in settings.landing_dir.rglob("*.csv"):
        text = path.read_text(encoding="utf-8")
        for kind, value in values.items():
            if value in text:
                rel = path.relative_to(settings.landing_dir).parts
                found.setdefault(f"{rel[0]}.{rel[1]}", set()).add(kind)
    return found


def _held_tables(receipt: dict) -> set[str]:
    return {k["table"] for k in receipt["kept"]}


def _assert_gone(settings, nid: str, customer, receipt: dict) -> None:
    values = _identity(nid, customer)
    held = _held_tables(receipt)
    in_tables = _tables_holding(settings, values)
    # only raw rows of a held table, and only the identity number it holds
    assert {t.removeprefix("raw_") for t in in_tables} <= held, in_tables
    assert all(kinds == {"national_id"} for kinds in in_tables.values()), in_tables
    assert set(_files_holding(settings, values)) <= held
    text = json.dumps(receipt)
    for kind, value in values.items():
        if kind != "person_id":  # the receipt's keyed hash
            assert value not in text, kind
    if customer:
        assert customer["first_name"] not in text and customer["last_name"] not in text


def test_the_staging_models_of_held_tables_stay_views(real_project):
    """Rows under a legal hold survive an erasure in their raw table only, the place the
    receipt names: a staging model reading a held table is a view, never a table (an
    incremental one included) that would keep a second copy of the erased person's case."""
    from catalog.erasure.holds import load_holds

    manifest, manifest_path = real_project
    held = {f"source.fjordbank.{table}" for table in load_holds(manifest)}
    nodes = json.loads(Path(manifest_path).read_text())["nodes"].values()
    readers = {
        n["name"]: n["config"]["materialized"]
        for n in nodes
        if n["resource_type"] == "model" and held & set(n["depends_on"]["nodes"])
    }
    assert readers, held  # the holds name tables the project reads
    assert readers == dict.fromkeys(readers, "view"), readers


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    root = tmp_path_factory.mktemp("erasure")
    with generated_platform(root, persons=1000, seed=5) as s:
        with open(next((s.landing_dir / "privacy" / "erasure_requests").glob("*.csv"))) as f:
            requests = list(csv.DictReader(f))
        customers = _customers(s)  # before the first run carries out the requests
        assert run_build_everything().success
        yield s, requests, customers


def _receipt(settings, request_id: str) -> dict:
    path = settings.data_dir / "privacy" / "erasure" / "receipts" / f"{request_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_delivered_requests_are_carried_out_by_the_run(platform):
    s, requests, customers = platform
    assert len(requests) >= 3
    with duckdb.connect(str(s.warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from raw_privacy.erasure_requests").fetchone() == (0,)
    kept = set()
    for request in requests:
        receipt = _receipt(s, request["request_id"])
        assert receipt["status"] == "erased" and receipt["rows_removed"] > 0
        assert receipt["keyed_hash"] == hmac_sha256_hex(request["national_id"], KEY)
        assert receipt["received_at"] and receipt["carried_out_at"]
        assert receipt["removed"]["privacy.erasure_requests"]["landing"] == 1
        _assert_gone(s, request["national_id"], customers.get(request["national_id"]), receipt)
        kept |= _held_tables(receipt)
        for k in receipt["kept"]:
            assert k["legal_basis"] and k["reason"] and k["retention"]
            assert all(r["rows"] > 0 for r in k["rows"])
    # the generator gives one person with a default case and one with a fraud case in their hold
    assert kept == {"risk.default_cases", "risk.fraud_cases"}


def _pick(s, customers, requests) -> tuple[str, dict]:
    requested = {r["national_id"] for r in requests}
    with duckdb.connect(str(s.warehouse), read_only=True) as conn:
        in_register = {
            r[0]
            for r in conn.execute(
                "select national_id from group_customer_register where email is not null "
                "and phone is not null"
            ).fetchall()
        }
        risky = {
            r[0]
            for r in conn.execute(
                "select national_id from raw_risk.default_cases union "
                "select national_id from raw_risk.fraud_cases"
            ).fetchall()
        }
    nid = sorted(in_register - requested - risky)[0]
    return nid, customers[nid]


@pytest.mark.slow
def test_catalog_erase_survives_a_rebuild_and_a_redelivery(platform):
    from catalog.cli import main

    s, requests, customers = platform
    nid, customer = _pick(s, customers, requests)
    manifest = str(s.dbt_target_path / "manifest.json")
    runner = CliRunner()
    landing_before = {p: p.read_bytes() for p in s.landing_dir.rglob("*.csv")}
    dry = runner.invoke(main, ["erase", nid, "--manifest", manifest, "--format", "json"])
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.stdout)
    assert preview["status"] == "would erase" and preview["removed"]["bank.customers"]["raw"] == 1
    assert nid not in dry.stdout and customer["email"] not in dry.stdout
    assert {p: p.read_bytes() for p in s.landing_dir.rglob("*.csv")} == landing_before

    done = runner.invoke(
        main, ["erase", nid, "--apply", "--request-id", "T-1", "--manifest", manifest]
    )
    assert done.exit_code == 0, done.output
    receipt = _receipt(s, "T-1")
    assert receipt["derived"]["tables"]  # register, marts ... rebuilt by the next build
    assert run_build_everything().success
    _assert_gone(s, nid, customer, receipt)
    access = runner.invoke(main, ["access", nid, "--manifest", manifest])
    assert access.exit_code == 1, access.output
    again = runner.invoke(main, ["erase", nid, "--manifest", manifest])
    assert again.exit_code == 1  # nothing held any more

    # the bank delivers the person again: dropped at ingest, counted as suppressed
    day = (AS_OF + dt.timedelta(days=1)).isoformat()
    path = s.landing_dir / "bank" / "customers" / f"{day}.csv"
    header = ",".join(customer)
    path.write_text(header + "\n" + ",".join(customer.values()) + "\n", encoding="utf-8")
    result = run_build_everything()
    assert result.success
    suppressed = [
        m.event_specific_data.materialization.metadata.get("rows_suppressed")
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["raw_bank", "customers"])
    ]
    assert [v.value for v in suppressed if v is not None] == [1]
    assert nid not in path.read_text(encoding="utf-8")
    _assert_gone(s, nid, customer, receipt)
