"""Erasure requests (GDPR Art. 17) carried out as a Dagster asset, before the ingest.

Every ingest asset depends on this one (and it on the retention sweep), so on each run the
requests delivered in ``privacy.erasure_requests`` are carried out before anything is loaded or
built, and the outputs are rebuilt from what remains:

1. the requests table is ingested, to read the pending requests (``raw_privacy.erasure_requests``
   holds only requests not yet carried out);
2. when there are any, every landing table is ingested first (the suppression list applied), so
   the warehouse is in step with the landing files the purge rewrites;
3. the requests are carried out together by :func:`catalog.erasure.engine.erase_all` (each
   person found and planned on their own, then every file and table purged once for all of
   them: landing records, raw and quarantine rows and the persons' lines of set-aside files
   removed, legal holds kept, identifiers suppressed, a receipt per request written, then the
   request rows removed).

An erasure that cannot be carried out fails the asset, so nothing downstream is ingested or
built: a request is never lost quietly (LANDING.md). Logs and metadata hold counts and request
ids, never an identity number.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb

from catalog.erasure.errors import ErasureError
from catalog.erasure.receipt import RECEIPTS_DIR, Receipt
from catalog.erasure.suppression import suppression_path
from catalog.pseudonym import PseudonymKeyMissing, pseudonym_key
from catalog.retention import RetentionError
from catalog.settings import Settings, settings
from dagster_project.assets.sweep import SWEEP_KEY, resync_with_ingest
from dagster_project.catalog_view import catalog_view
from dagster_project.landing.contract import TABLES
from dagster_project.landing.deliveries import IngestError
from dagster_project.resources import Warehouse

ERASURE_KEY = dg.AssetKey(["privacy_erasure"])


def carry_out_erasures(
    conn: duckdb.DuckDBPyConnection,
    manifest_path: Path,
    *,
    s: Settings | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> list[Receipt]:
    """Carry out every pending erasure request on ``conn`` (steps 1 to 3 above); returns the
    receipts written. Raises ErasureError, IngestError, RetentionError or PseudonymKeyMissing,
    one line each, when the requests cannot be carried out (none is, when a person cannot be
    found or a file is out of step: see :func:`~catalog.erasure.engine.erase_all`)."""
    from catalog.erasure.engine import ErasureOrder, erase_all
    from catalog.erasure.requests import pending_requests

    s = s or settings()
    ingest = resync_with_ingest(conn, s)  # the suppression list applied, bad files set aside

    ingest("privacy", "erasure_requests")
    requests = pending_requests(conn)
    if not requests:
        return []
    for t in TABLES:
        ingest(t.source, t.name)
    receipts = erase_all(
        catalog_view(manifest_path),
        conn,
        s.landing_dir,
        [ErasureOrder(r.national_id, r.request_id, r.received_at) for r in requests],
        key=pseudonym_key(),
        allow_synthetic=s.synthetic_data,
        apply=True,
        receipts_dir=s.data_dir / RECEIPTS_DIR,
        suppression_file=suppression_path(s.data_dir),
        file_quarantine=s.file_quarantine_dir,  # the persons' set-aside lines
    )
    for receipt in receipts:
        log(
            f"erasure request {receipt.request_id}: {receipt.rows_removed} rows removed, "
            f"{receipt.rows_kept} kept under a legal hold; receipt {receipt.path}"
        )
    return receipts


def build_erasure_asset(manifest_path: Path) -> dg.AssetsDefinition:
    @dg.asset(
        key=ERASURE_KEY,
        group_name="landing",
        kinds={"csv", "duckdb"},
        deps=[SWEEP_KEY],
        description=(
            "Erasure (GDPR Art. 17): carries out the requests delivered in "
            "privacy.erasure_requests before the ingest: the person's landing records, raw and "
            "quarantine rows removed, legal holds kept, identifiers suppressed at ingest, a "
            "receipt per request under privacy/erasure/receipts (no identity in it)."
        ),
    )
    def privacy_erasure(context: dg.AssetExecutionContext, warehouse: Warehouse):
        try:
            with warehouse.connect() as conn:
                receipts = carry_out_erasures(conn, manifest_path, log=context.log.info)
        except (ErasureError, IngestError, RetentionError, PseudonymKeyMissing) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        return dg.MaterializeResult(
            metadata={
                "requests_carried_out": len(receipts),
                "rows_removed": sum(r.rows_removed for r in receipts),
                "rows_kept": sum(r.rows_kept for r in receipts),
                "receipts": dg.MetadataValue.json([str(r.path) for r in receipts]),
            }
        )

    return privacy_erasure
