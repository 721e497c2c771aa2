"""The retention sweep and one erasure against plain DuckDB ``DELETE``s of the same rows.

Landing data for ``persons`` is generated once and every table ingested once (the Dagster-free
ingest, ``ingest_table``; no dbt build: the sweep and the erasure remove rows from the landing
files, raw tables and quarantine only, derived tables are rebuilt by the next run). Each repeat
then works on a fresh copy of that warehouse file and landing tree, for each of:

- **sweep**: the product's sweep (``catalog.retention.sweep.sweep`` with the declarations'
  expiry predicates, ``apply=True``, as ``fjordbank sweep --apply`` and the ``retention_sweep``
  asset call it: the in-step check, one purge transaction, the landing files rewritten); its
  proof that nothing expired is left (``expired_left``, the asset's blocking check) is timed
  on its own. Baseline: ``DELETE FROM raw_<source>.<table> WHERE <the same predicate>`` per
  table and the same for each table's quarantine rows, in one transaction.
- **erasure** of one person (a bank customer with rows in many tables, none under a legal
  hold or quarantined): the product's ``catalog.erasure.engine.erase(..., apply=True)`` (as
  ``catalog erase NATIONAL_ID --apply``: the search of every table through the catalog, the
  suppression list, the purge, the landing files rewritten, the receipt). Baseline: hand-written
  ``DELETE``s of the person's rows (by identity number, customer numbers and cookie ids), raw
  tables and quarantine, in one transaction; it does not touch the landing files.

Both sides open their connection before the clock starts and close it (checkpoint) inside it;
DuckDB runs with ``memory_limit`` 4 GB. Rows deleted must be equal per table between the product
and its baseline, or the benchmark fails. Medians over the repeats; ratio = product / baseline.

    python -m bench.rights [persons] [repeats]
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

AS_OF = dt.date(2026, 11, 2)  # the generator's delivery date, and the sweep's "today"
QUICK = {"persons": 20_000, "repeats": 2}
MEMORY_LIMIT = "4GB"
BENCH_KEY = "bench-key"

# The person's raw rows, as one would write them by hand: the identity number, the bank
# customer numbers registered under it and the cookie ids of their logged-in page views.
_CUSTOMER_NOS = "(select customer_no from raw_bank.customers where national_id = $nid)"
_VISITOR_IDS = (
    "(select visitor_id from raw_web.page_views where national_id = $nid "
    "and visitor_id is not null)"
)
BASELINE_ERASURE: dict[str, str] = {
    "bank.accounts": f"customer_no in {_CUSTOMER_NOS}",
    "bank.cards": f"customer_no in {_CUSTOMER_NOS}",
    "bank.loans": f"customer_no in {_CUSTOMER_NOS}",
    "bank.digital_logins": f"customer_no in {_CUSTOMER_NOS}",
    "bank.customer_roles": (
        f"customer_no in {_CUSTOMER_NOS} or related_customer_no in {_CUSTOMER_NOS}"
    ),
    "insurance.policies": "national_id = $nid",
    "pension.agreements": "national_id = $nid",
    "markets.securities_accounts": "national_id = $nid",
    "markets.securities_holdings": "national_id = $nid",
    "asset_management.fund_holdings": "national_id = $nid",
    "privacy.group_sharing_consents": "national_id = $nid",
    "privacy.objections": "national_id = $nid",
    "privacy.erasure_requests": "national_id = $nid",
    "privacy.cookie_consents": f"visitor_id in {_VISITOR_IDS}",
    "web.page_views": (
        f"national_id = $nid or (national_id is null and visitor_id in {_VISITOR_IDS})"
    ),
    "risk.default_cases": "national_id = $nid",
    "risk.fraud_cases": "national_id = $nid",
    "bank.customers": "national_id = $nid",  # last: the others read its customer numbers
}
# Quarantined records holding one of the person's identifiers in any field.
_BASELINE_QUARANTINE = (
    "contains(cast(record as varchar), $nid) "
    f"or exists (select 1 from {_CUSTOMER_NOS} c "
    "where contains(cast(record as varchar), c.customer_no))"
)


@dataclass(frozen=True)
class Setup:
    """The generated landing tree and the warehouse ingested from it (never modified)."""

    root: Path
    landing: Path
    warehouse: Path
    manifest_path: Path
    rows: int


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    return conn


def prepare(root: Path, persons: int, manifest_path: Path | None = None) -> Setup:
    """Generate ``persons`` into ``root/base/landing``, ingest every table into
    ``root/base/warehouse.duckdb``; compile the dbt project unless ``manifest_path`` is given."""
    from dagster_project.landing.contract import TABLES
    from dagster_project.landing.generate import generate
    from dagster_project.landing.load import ingest_table

    base = root / "base"
    landing = base / "landing"
    counts = generate(landing, persons=persons, seed=42, as_of=AS_OF, progress=False)
    warehouse = base / "warehouse.duckdb"
    conn = _connect(warehouse)
    try:
        for t in TABLES:
            ingest_table(conn, t.source, t.name, landing, allow_synthetic=True)
    finally:
        conn.close()
    if manifest_path is None:
        from catalog.manifest import compile_project
        from dagster_project.project import DBT_PROJECT_DIR

        target = root / "dbt_target"
        compile_project(DBT_PROJECT_DIR, target_path=target)
        manifest_path = target / "manifest.json"
    return Setup(root, landing, warehouse, manifest_path, sum(counts.values()))


def _copy(setup: Setup, name: str) -> tuple[Path, Path]:
    """A fresh copy of the landing tree and the warehouse under ``root/name``."""
    work = setup.root / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(setup.landing, work / "landing")
    shutil.copy2(setup.warehouse, work / "warehouse.duckdb")
    return work / "landing", work / "warehouse.duckdb"


def _drop(setup: Setup, name: str) -> None:
    shutil.rmtree(setup.root / name, ignore_errors=True)


# -- the sweep ---------------------------------------------------------------------------------
def sweep_product(setup: Setup, declarations: list, today: dt.date) -> dict[str, Any]:
    """The product's sweep on a fresh copy: seconds, seconds of the proof, rows per table."""
    from catalog.retention.sweep import expired_left, sweep
    from dagster_project.landing.load import ingest_table

    landing, warehouse = _copy(setup, "sweep-product")
    try:
        conn = _connect(warehouse)

        def resync(source: str, table: str) -> None:  # as dagster_project.assets.sweep's
            ingest_table(conn, source, table, landing, allow_synthetic=True)

        t0 = time.perf_counter()
        result = sweep(conn, landing, declarations, today, apply=True, resync=resync)
        conn.close()
        seconds = time.perf_counter() - t0
        if result.resynced:
            raise RuntimeError(f"the copy was not in step: {', '.join(result.resynced)}")
        conn = _connect(warehouse)
        t0 = time.perf_counter()
        left = expired_left(conn, landing, declarations, today)
        proof = time.perf_counter() - t0
        conn.close()
        if left:
            raise RuntimeError(f"expired rows left after the sweep in {', '.join(sorted(left))}")
        rows = {k: (c.raw, c.quarantine) for k, c in result.purge.tables.items()}
        total = result.purge.total()
        return {
            "seconds": seconds,
            "proof_seconds": proof,
            "rows": rows,
            "files_rewritten": total.files_rewritten,
            "landing_rows": total.landing,
        }
    finally:
        _drop(setup, "sweep-product")


def sweep_baseline(setup: Setup, declarations: list, today: dt.date) -> dict[str, Any]:
    """Plain DELETEs with the same predicates, one transaction, on a fresh warehouse copy."""
    from catalog.retention.declarations import quarantine_declaration, source_declarations

    work = setup.root / "sweep-baseline"
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    shutil.copy2(setup.warehouse, warehouse)
    quarantine = quarantine_declaration(declarations)
    q_expired = quarantine.expired_sql(today, "q")
    try:
        conn = _connect(warehouse)
        rows: dict[str, tuple[int, int]] = {}
        t0 = time.perf_counter()
        conn.begin()
        for d in source_declarations(declarations):
            raw = conn.execute(
                f"delete from {d.relation} t where {d.expired_sql(today, 't')}"
            ).fetchone()[0]
            q = conn.execute(
                f'delete from quarantine.rejected_rows q where q.source = ? and q."table" = ? '
                f"and {q_expired}",
                [d.source, d.name],
            ).fetchone()[0]
            rows[f"{d.source}.{d.name}"] = (raw, q)
        conn.commit()
        conn.close()
        return {"seconds": time.perf_counter() - t0, "rows": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the erasure -------------------------------------------------------------------------------
def pick_person(setup: Setup) -> str:
    """A bank customer with rows in the most tables (fixed order: the lowest number among
    them), none under a legal hold (default or fraud case) and none quarantined."""
    conn = duckdb.connect(str(setup.warehouse), read_only=True)
    try:
        in_tables = " + ".join(
            f"(exists (select 1 from raw_{name} t "
            f"where {pred.replace('$nid', 'p.national_id')}))::int"
            for name, pred in BASELINE_ERASURE.items()
            if name != "bank.customers"
        )
        row = conn.execute(
            f"""
            with p as (
                select distinct national_id from raw_bank.customers
                where national_id not in (select national_id from raw_risk.default_cases
                                          where national_id is not null)
                  and national_id not in (select national_id from raw_risk.fraud_cases
                                          where national_id is not null)
                  and not exists (select 1 from quarantine.rejected_rows q
                                  where contains(cast(q.record as varchar), national_id))
                order by national_id
                limit 2000
            )
            select national_id from p order by {in_tables} desc, national_id limit 1
            """
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        raise RuntimeError("no bank customer without a legal hold to erase")
    return row[0]


def erase_product(setup: Setup, catalog: Any, nid: str) -> dict[str, Any]:
    """``catalog erase NID --apply`` on a fresh copy: seconds and raw/quarantine rows per table."""
    from catalog.erasure.engine import erase

    landing, warehouse = _copy(setup, "erase-product")
    work = warehouse.parent
    try:
        conn = _connect(warehouse)
        t0 = time.perf_counter()
        receipt = erase(
            catalog,
            conn,
            landing,
            nid,
            key=BENCH_KEY.encode(),
            allow_synthetic=True,
            apply=True,
            receipts_dir=work / "receipts",
            suppression_file=work / "suppression.json",
            request_id="bench-erasure",
        )
        conn.close()
        seconds = time.perf_counter() - t0
        if receipt.kept:
            raise RuntimeError("the person has rows under a legal hold; pick another")
        rows = {
            k: (c["raw"], c["quarantine"])
            for k, c in receipt.removed.items()
            if c["raw"] or c["quarantine"]
        }
        files = sum(c["files_rewritten"] for c in receipt.removed.values())
        return {"seconds": seconds, "rows": rows, "files_rewritten": files}
    finally:
        _drop(setup, "erase-product")


def erase_baseline(setup: Setup, nid: str) -> dict[str, Any]:
    """Hand-written DELETEs of the person's raw and quarantine rows, one transaction."""
    work = setup.root / "erase-baseline"
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    shutil.copy2(setup.warehouse, warehouse)
    try:
        conn = _connect(warehouse)
        rows: dict[str, tuple[int, int]] = {}
        t0 = time.perf_counter()
        conn.begin()
        # the quarantine first: its predicate reads the customer numbers
        q = conn.execute(
            f"delete from quarantine.rejected_rows where {_BASELINE_QUARANTINE} "
            'returning source, "table"',
            {"nid": nid},
        ).fetchall()
        for name, where in BASELINE_ERASURE.items():
            n = conn.execute(
                f"delete from raw_{name} where {where}", {"nid": nid} if "$nid" in where else {}
            ).fetchone()[0]
            nq = sum(1 for s, t in q if f"{s}.{t}" == name)
            if n or nq:
                rows[name] = (n, nq)
        conn.commit()
        conn.close()
        return {"seconds": time.perf_counter() - t0, "rows": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- both --------------------------------------------------------------------------------------
def same_rows(what: str, product: dict, baseline: dict) -> int:
    """Rows deleted per table must be equal; the total number of rows."""
    p = {k: v for k, v in product.items() if any(v)}
    b = {k: v for k, v in baseline.items() if any(v)}
    if p != b:
        diff = sorted(k for k in set(p) | set(b) if p.get(k) != b.get(k))
        raise AssertionError(
            f"{what}: rows deleted differ between the product and DELETE in {', '.join(diff)}: "
            + "; ".join(f"{k} {p.get(k)} vs {b.get(k)}" for k in diff)
        )
    return sum(raw + q for raw, q in p.values())


def load_context(setup: Setup) -> tuple[list, Any]:
    from catalog.loader import load_catalog
    from catalog.manifest import load_manifest
    from catalog.retention import load_declarations

    manifest = load_manifest(setup.manifest_path)
    catalog = load_catalog(manifest)
    _ = catalog.controller  # read now: a wrong configuration fails before any timing
    return load_declarations(manifest), catalog


def check(setup: Setup) -> dict[str, int]:
    """One run of each side, no timing: rows deleted by the product == rows deleted by DELETE
    (raises AssertionError otherwise). Returns the rows deleted by the sweep and the erasure."""
    declarations, catalog = load_context(setup)
    sweep_rows = same_rows(
        "sweep",
        sweep_product(setup, declarations, AS_OF)["rows"],
        sweep_baseline(setup, declarations, AS_OF)["rows"],
    )
    nid = pick_person(setup)
    erase_rows = same_rows(
        "erasure", erase_product(setup, catalog, nid)["rows"], erase_baseline(setup, nid)["rows"]
    )
    return {"sweep": sweep_rows, "erasure": erase_rows}


def _medians(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def _repeat(fn: Callable[[], dict], repeats: int) -> list[dict]:
    return [fn() for _ in range(repeats)]


def run(persons: int = 1_000_000, repeats: int = 3) -> Iterator[dict]:
    os.environ.setdefault("FJORDBANK_PSEUDONYM_KEY", BENCH_KEY)  # the warehouse UDF's key
    t_module = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fjordbank-bench-rights-") as tmp:
        t0 = time.perf_counter()
        setup = prepare(Path(tmp), persons)
        setup_s = time.perf_counter() - t0
        declarations, catalog = load_context(setup)

        product = _repeat(lambda: sweep_product(setup, declarations, AS_OF), repeats)
        baseline = _repeat(lambda: sweep_baseline(setup, declarations, AS_OF), repeats)
        rows = {same_rows("sweep", r["rows"], b["rows"]) for r in product for b in baseline}
        (sweep_rows,) = rows
        p, b, proof = _medians(product), _medians(baseline), _medians(product, "proof_seconds")
        sweep_row = {
            "benchmark": "rights",
            "case": f"retention sweep, {persons:,} persons",
            "median_s": p,
            "baseline": "DELETE ... WHERE <same expiry predicate>, raw + quarantine, per table",
            "baseline_median_s": b,
            "ratio": p / b,
            "rows_deleted": sweep_rows,
            "landing_rows_deleted": product[0]["landing_rows"],
            "files_rewritten": product[0]["files_rewritten"],
            "proof_median_s": proof,
            "ratio_with_proof": (p + proof) / b,
            "rows_ingested": setup.rows,
            "repeats": repeats,
            "setup_s": setup_s,
            "date": dt.date.today().isoformat(),
        }
        yield sweep_row

        nid = pick_person(setup)
        product = _repeat(lambda: erase_product(setup, catalog, nid), repeats)
        baseline = _repeat(lambda: erase_baseline(setup, nid), repeats)
        rows = {same_rows("erasure", r["rows"], b["rows"]) for r in product for b in baseline}
        (erase_rows,) = rows
        p, b = _medians(product), _medians(baseline)
        tables = len(product[0]["rows"])
        erase_row = {
            "benchmark": "rights",
            "case": f"erasure of one person ({tables} tables), {persons:,} persons",
            "median_s": p,
            "baseline": "hand-written DELETEs of the person's raw + quarantine rows "
            "(does not touch the landing files)",
            "baseline_median_s": b,
            "ratio": p / b,
            "rows_deleted": erase_rows,
            "files_rewritten": product[0]["files_rewritten"],
            "repeats": repeats,
            "setup_s": setup_s,
            "module_s": time.perf_counter() - t_module,  # the whole module, setup included
            "date": dt.date.today().isoformat(),
        }
        yield erase_row


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    for r in run(*args):
        print(r)
