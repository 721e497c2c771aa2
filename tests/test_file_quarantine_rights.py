"""The file quarantine (set-aside delivery files) under retention, access and erasure: the
sweep deletes expired files, the access report names the person's lines of a NUL-byte file and
no one else's, the erasure cuts exactly those lines and counts them in the receipt
(catalog/file_quarantine.py). A tiny catalog and a hand-made warehouse under tmp_path (fast)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from catalog import file_quarantine as fq
from catalog.cli import main as catalog_main
from catalog.erasure.engine import ErasureOrder, erase, erase_all
from catalog.erasure.errors import ErasureError
from catalog.loader import load_catalog
from catalog.manifest import load_manifest
from catalog.reports.access import access_report
from catalog.retention import load_declarations
from catalog.retention import purge as purge_module
from catalog.retention.report import retention_rows
from catalog.retention.sweep import expired_left, sweep, write_report

A, B = "02016126007", "31129956715"  # valid identity numbers (LANDING.md's examples)
NID = "user.government_id.national_identification_number"
OPS = "system.operations"
BOOK = {"_delivery_date": OPS, "_source_file": OPS, "_source_line": OPS}
FUNDS = "user.financial.funds"
FRAUD = "user.financial.fraud"
CONTRACT = {
    "purposes": ["essential.service"],
    "legal_basis": "contract",
    "retention": "P10Y",
    "retention_from": "delivery",
}
REASON = "contains NUL bytes; deliver UTF-8 CSV"

# A NUL-byte delivery of bank.accounts: A's customer number C1001 on lines 2, 6 (after bytes
# that are not UTF-8) and 7 (UTF-16), A's identity number on line 5; B's C1002 on line 3; line
# 4 holds C10010, a longer number that is not A's.
ACCOUNTS = (
    b"customer_no,balance\n"
    b"C1001,10\x00\n"
    b"C1002,20\x00\n"
    b"C10010,5\n"
    + A.encode()
    + b";note\r\n"
    + b"\xff\xfeC1001;x\n"
    + "C1001,7".encode("utf-16-le")
    + b"\n"
    + b"C1003,9"  # no newline at the end
)
PERSON_A_LINES = [2, 5, 6, 7]


def _source(source: str, table: str, columns: dict[str, str], privacy: dict) -> dict[str, Any]:
    return {
        "unique_id": f"source.fjordbank.{source}.{table}",
        "name": table,
        "resource_type": "source",
        "package_name": "fjordbank",
        "source_name": source,
        "database": "warehouse",
        "schema": f"raw_{source}",
        "identifier": table,
        "description": f"{source} {table}",
        "config": {"meta": {"privacy": privacy}},
        "columns": {
            n: {
                "name": n,
                "data_type": "varchar",
                "description": n,
                "config": {"meta": {"privacy": {"category": c}}},
            }
            for n, c in columns.items()
        },
    }


def _manifest_path(tmp_path: Path) -> Path:
    sources = [
        _source("bank", "customers", {"national_id": NID, "customer_no": "user.unique_id", **BOOK},
                CONTRACT),
        _source("bank", "accounts", {"customer_no": "user.unique_id", "balance": FUNDS, **BOOK},
                CONTRACT),
        _source("insurance", "policies",
                {"customer_no": "user.unique_id", "premium": FUNDS, **BOOK}, CONTRACT),
        _source("risk", "default_cases", {"national_id": NID, "closed_on": FUNDS, **BOOK},
                {**CONTRACT, "retention": "P13Y", "retention_from": "closed_on"}),
        _source("risk", "fraud_cases",
                {"case_no": FRAUD, "national_id": NID, "category": FRAUD, "closed_on": FRAUD,
                 "opened_on": FRAUD, **BOOK},
                {**CONTRACT, "retention": "P10Y", "retention_from": "opened_on"}),
    ]  # fmt: skip
    data = {
        "metadata": {"project_name": "fjordbank", "adapter_type": "duckdb", "dbt_version": "1.11"},
        "nodes": {},
        "sources": {s["unique_id"]: s for s in sources},
        "groups": {},
    }
    path = tmp_path / "target" / "manifest.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return path


def _set_aside(folder: Path, rel: str, data: bytes, set_aside_at: str | None) -> Path:
    """A file as the ingest sets it aside (with its JSON unless ``set_aside_at`` is None)."""
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if set_aside_at is not None:
        meta = {
            "source": rel.split("/")[0],
            "table": rel.split("/")[1],
            "original_path": f"/landing/{rel}",
            "reason": REASON,
            "set_aside_at": set_aside_at,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        fq.meta_path(path).write_text(json.dumps(meta))
    return path


@pytest.fixture
def platform(tmp_path: Path):
    """A data dir: bank.customers landed and in the warehouse (A with C1001, B with C1002), and
    set-aside files of bank.accounts (A's and B's lines), insurance.policies (C1001 there is
    another company's number) and risk.fraud_cases (withheld in access, held in erasure)."""
    data = tmp_path / "data"
    landing = data / "landing"
    customers = landing / "bank" / "customers" / "2026-01-01.csv"
    customers.parent.mkdir(parents=True)
    customers.write_bytes(f"national_id,customer_no\n{A},C1001\n{B},C1002\n".encode())
    warehouse = data / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema raw_bank")
        conn.execute(
            "create table raw_bank.customers (national_id varchar, customer_no varchar, "
            "_delivery_date date, _source_file varchar, _source_line bigint)"
        )
        rel = "bank/customers/2026-01-01.csv"
        conn.execute(
            "insert into raw_bank.customers values (?, 'C1001', '2026-01-01', ?, 2), "
            "(?, 'C1002', '2026-01-01', ?, 3)",
            [A, rel, B, rel],
        )
    folder = data / "quarantine" / "files"
    at = "2026-02-02T10:00:00+00:00"
    files = {
        "accounts": _set_aside(folder, "bank/accounts/2026-02-01.csv", ACCOUNTS, at),
        "policies": _set_aside(
            folder, "insurance/policies/2026-02-01.csv", b"customer_no,premium\nC1001,5\x00\n", at
        ),
        "fraud": _set_aside(
            folder,
            "risk/fraud_cases/2026-02-01.csv",
            f"case_no,national_id\nF1,{A}\x00\n".encode(),
            at,
        ),
    }
    catalog = load_catalog(load_manifest(_manifest_path(tmp_path)))
    return data, catalog, warehouse, folder, files


def _report(platform, nid: str) -> dict:
    _, catalog, warehouse, folder, _ = platform
    report = access_report(
        catalog, nid, warehouse, key=None, allow_synthetic=False, file_quarantine=folder
    )
    return report.to_json()


def _set_aside_tables(report: dict) -> dict[str, list]:
    return {
        t["dataset"]: [[c["value"] for c in row] for row in t["rows"]]
        for t in report["tables"]
        if t["kind"] == "file_quarantine"
    }


# -- access ------------------------------------------------------------------------------------


def test_access_names_the_persons_lines_of_a_nul_byte_file_and_no_one_elses(platform):
    report = _report(platform, A)
    assert _set_aside_tables(report) == {
        "bank.accounts (set-aside delivery files)": [
            ["bank/accounts/2026-02-01.csv", PERSON_A_LINES, REASON, "2026-02-02T10:00:00+00:00"]
        ]
    }  # not the insurance file (another company's numbers), not the withheld fraud file
    text = json.dumps(_set_aside_tables(report))
    assert "C1002" not in text and B not in text and "C10010" not in text
    (entry,) = [t for t in report["tables"] if t["kind"] == "file_quarantine"]
    assert entry["matched_on"] == [
        "National Identification Number (user.government_id.national_identification_number)",
        "Unique ID (user.unique_id) of source bank (Fjordbank ASA)",
    ]
    # B: only line 3
    assert _set_aside_tables(_report(platform, B)) == {
        "bank.accounts (set-aside delivery files)": [
            ["bank/accounts/2026-02-01.csv", [3], REASON, "2026-02-02T10:00:00+00:00"]
        ]
    }


def test_catalog_access_and_retention_cli_read_the_data_dirs_file_quarantine(platform, monkeypatch):
    data = platform[0]
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(data))  # the file quarantine is found there
    monkeypatch.delenv("FJORDBANK_WAREHOUSE", raising=False)
    result = CliRunner().invoke(
        catalog_main,
        [
            "access",
            A,
            "--manifest",
            str(data.parent / "target" / "manifest.json"),
            "--no-synthetic",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "quarantine.files (file_quarantine bank.accounts (set-aside delivery files))" in (
        result.stdout
    )
    assert "| bank/accounts/2026-02-01.csv | 2, 5, 6, 7 | " + REASON in result.stdout
    assert "C1002" not in result.stdout
    # catalog retention counts the set-aside files (all three past 90 days on 2026-06-01)
    manifest = str(data.parent / "target" / "manifest.json")
    rows = CliRunner().invoke(
        catalog_main, ["retention", "--manifest", manifest, "--format", "json", "--today",
                       "2026-06-01", "--warehouse", str(data / "warehouse.duckdb")],
    )  # fmt: skip
    assert rows.exit_code == 0, rows.output
    (row,) = [r for r in json.loads(rows.stdout) if r["table"] == "quarantine.files"]
    assert (row["rows"], row["rows_expired"], row["counts"]) == (3, 3, "files")


# -- erasure -----------------------------------------------------------------------------------


def _erase(platform, nid: str, *, apply: bool):
    data, catalog, warehouse, folder, _ = platform
    with duckdb.connect(str(warehouse)) as conn:
        return erase(
            catalog,
            conn,
            data / "landing",
            nid,
            key=b"test-key",
            allow_synthetic=False,
            apply=apply,
            receipts_dir=data / "receipts",
            suppression_file=data / "suppressed.json",
            request_id="r1",
            file_quarantine=folder,
        )


def test_erasure_cuts_exactly_the_persons_lines_and_counts_them(platform):
    _, _, _, folder, files = platform
    before = {k: p.read_bytes() for k, p in files.items()}
    preview = _erase(platform, A, apply=False)
    assert {k: p.read_bytes() for k, p in files.items()} == before  # a dry run changes nothing
    assert preview.removed["bank.accounts"]["set_aside_lines"] == 4

    receipt = _erase(platform, A, apply=True)
    lines = fq.split_lines(before["accounts"])
    expected = b"".join(p for i, p in enumerate(lines, start=1) if i not in PERSON_A_LINES)
    after = files["accounts"].read_bytes()
    assert after == expected  # every other byte kept, the NUL bytes included
    assert b"C1002,20\x00\n" in after and b"C10010,5\n" in after and after.endswith(b"C1003,9")
    meta = json.loads(fq.meta_path(files["accounts"]).read_text())
    assert meta["sha256"] == hashlib.sha256(after).hexdigest() and meta["size"] == len(after)
    assert meta["erasures"][0]["lines_removed"] == 4 and meta["reason"] == REASON
    assert files["policies"].read_bytes() == before["policies"]  # another company's number
    assert files["fraud"].read_bytes() == before["fraud"]  # a legal hold keeps it

    d = receipt.to_json()
    assert d["removed"]["bank.accounts"]["set_aside_lines"] == 4
    assert d["removed"]["bank.accounts"]["set_aside_files"] == 1
    assert d["removed"]["bank.customers"]["raw"] == 1
    held = [k for k in d["kept"] if k["place"] == "file quarantine"]
    assert [(k["table"], k["rows"][0]["rows"]) for k in held] == [("risk.fraud_cases", 1)]
    text = json.dumps(d)
    assert A not in text and "C1001" not in text
    assert receipt.path is not None and receipt.path.is_file()

    # nothing of A is left in the file quarantine outside the held file; B is still found
    assert _set_aside_tables(_report(platform, A)) == {}
    (row,) = _set_aside_tables(_report(platform, B))["bank.accounts (set-aside delivery files)"]
    assert row[1] == [2]  # B's line, one line up now
    entry = next(e for e in fq.set_aside_files(folder) if e.file == files["accounts"])
    assert fq.find_lines(entry, {A, "C1001"}) == []


def test_two_persons_erased_together_cut_from_one_file_in_one_rewrite(platform, monkeypatch):
    """erase_all: A's and B's lines of the same set-aside file in one cut (cutting A's first
    would move B's line up: two separate cuts by the old line numbers would cut the wrong
    line), a landing file holding both rewritten once, the receipts each person's own counts
    (those of erasing them alone), and an invalid order among them stopping both before
    anything changes."""
    data, catalog, warehouse, folder, files = platform
    landing_file = data / "landing" / "bank" / "customers" / "2026-01-01.csv"
    before = {k: p.read_bytes() for k, p in files.items()}
    landing_before = landing_file.read_bytes()
    alone = {nid: _erase(platform, nid, apply=False).to_json()["removed"] for nid in (A, B)}

    def erase_both(*orders: ErasureOrder):
        with duckdb.connect(str(warehouse)) as conn:
            return erase_all(
                catalog,
                conn,
                data / "landing",
                list(orders),
                key=b"test-key",
                allow_synthetic=False,
                apply=True,
                receipts_dir=data / "receipts",
                suppression_file=data / "suppressed.json",
                file_quarantine=folder,
            )

    with pytest.raises(ErasureError):
        erase_both(ErasureOrder(A, "ra"), ErasureOrder("12345678901", "rx"))
    with pytest.raises(ErasureError, match=r"request id manual-.* is given to two persons"):
        erase_both(ErasureOrder(A), ErasureOrder(B))  # both default to manual-<time>
    assert {k: p.read_bytes() for k, p in files.items()} == before
    assert landing_file.read_bytes() == landing_before
    assert not (data / "suppressed.json").exists() and not (data / "receipts").exists()

    rewrites: list[Path] = []
    write_aside = purge_module._FilePlan.write_aside

    def counted(plan):
        rewrites.append(plan.path)
        write_aside(plan)

    monkeypatch.setattr(purge_module._FilePlan, "write_aside", counted)
    receipts = erase_both(ErasureOrder(A, "ra"), ErasureOrder(B, "rb"))
    assert [r.request_id for r in receipts] == ["ra", "rb"]
    assert [r.to_json()["removed"] for r in receipts] == [alone[A], alone[B]]
    lines = fq.split_lines(before["accounts"])
    cut = {*PERSON_A_LINES, 3}  # B's C1002 on line 3
    expected = b"".join(p for i, p in enumerate(lines, start=1) if i not in cut)
    assert files["accounts"].read_bytes() == expected
    meta = json.loads(fq.meta_path(files["accounts"]).read_text())
    assert [e["lines_removed"] for e in meta["erasures"]] == [5]  # one cut, both persons
    assert landing_file.read_bytes() == b"national_id,customer_no\n"  # both records gone
    assert rewrites == [landing_file]  # once for both persons
    with duckdb.connect(str(warehouse)) as conn:
        assert conn.execute("select count(*) from raw_bank.customers").fetchone() == (0,)
    for nid in (A, B):
        assert _set_aside_tables(_report(platform, nid)) == {}


# -- retention ---------------------------------------------------------------------------------


def test_the_sweep_counts_then_deletes_expired_set_aside_files(platform):
    data, catalog, warehouse, folder, files = platform
    declarations = load_declarations(catalog.manifest)
    kinds = {d.table: (d.kind, d.retention) for d in declarations}
    assert kinds["quarantine.files"] == ("file_quarantine", "P90D")
    # 2026-02-01 (the three files above): from the delivery date in the name
    later = _set_aside(folder, "bank/accounts/2026-05-20.20260521T101010123456Z.csv", b"x\x00", "")
    named = _set_aside(folder, "bank/accounts/notadate.csv", b"y\x00", "2026-03-15T08:00:00+00:00")
    by_hand = _set_aside(folder, "bank/accounts/byhand.csv", b"z\x00", None)  # no JSON
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(by_hand, (old, old))
    today = dt.date(2026, 6, 13)  # 2026-03-15 + 90 days: expired today; 05-20 + 90 not yet
    expired = {*files.values(), named, by_hand}

    conn = duckdb.connect(str(warehouse))
    (row,) = [
        r for r in retention_rows(conn, declarations, today, folder)
        if r["table"] == "quarantine.files"
    ]  # fmt: skip
    assert (row["rows"], row["rows_expired"], row["oldest"]) == (6, 5, "2025-01-01")
    assert set(expired_left(conn, data / "landing", declarations, today, folder)) == {
        "quarantine.files"
    }
    dry = sweep(conn, data / "landing", declarations, today, apply=False, file_quarantine=folder)
    assert (dry.set_aside.files, dry.set_aside.expired) == (6, 5)
    assert all(p.exists() for p in expired)

    done = sweep(conn, data / "landing", declarations, today, apply=True, file_quarantine=folder)
    assert (done.set_aside.files, done.set_aside.expired) == (6, 5)
    assert not any(p.exists() or fq.meta_path(p).exists() for p in expired)
    assert later.exists() and fq.meta_path(later).exists()
    assert expired_left(conn, data / "landing", declarations, today, folder) == {}
    report = json.loads(write_report(done, data / "reports").read_text())
    assert report["quarantine.files"] == {"files": 6, "files_expired": 5}
    assert A not in json.dumps(report) and "C1001" not in json.dumps(report)


def test_a_bad_stores_declaration_of_the_file_quarantine_is_refused(tmp_path):
    from catalog.retention import RetentionError
    from catalog.retention.declarations import STORES_PATH

    text = STORES_PATH.read_text()
    start = text.index("  quarantine.files:")
    end = text.index("  openlineage:")
    missing = tmp_path / "stores.yml"
    missing.write_text(text[:start] + text[end:])
    with pytest.raises(RetentionError, match=r"store quarantine\.files is not declared"):
        load_declarations(load_manifest(_manifest_path(tmp_path)), missing)
