"""The retention sweep as a Dagster asset: every ingest asset depends on it, so the daily run
deletes what has expired from the landing files, raw tables, quarantine and file quarantine
(the set-aside delivery files and their JSON) before anything is loaded or built, and the
outputs are rebuilt from what remains.

Its blocking check ``nothing_expired_left`` proves the sweep: no expired row in any raw table
or the quarantine, every landing file holding exactly the warehouse's rows of it, and no
set-aside file past its retention; when it fails, nothing downstream runs. The sweep report
(counts per table and place, never a value) is written to
``<data dir>/reports/sweep-<date>.json``.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb

from catalog.erasure.suppression import matcher_for
from catalog.manifest import load_manifest
from catalog.retention import load_declarations
from catalog.retention.purge import PurgeError
from catalog.retention.sweep import SweepResult, expired_left, sweep, write_report
from catalog.settings import Settings, settings
from dagster_project.landing.deliveries import IngestError
from dagster_project.landing.load import ingest_table
from dagster_project.resources import Warehouse

SWEEP_KEY = dg.AssetKey(["retention_sweep"])
CHECK_NAME = "nothing_expired_left"


def resync_with_ingest(conn: duckdb.DuckDBPyConnection, s: Settings) -> Callable[[str, str], None]:
    """The sweep's ``resync``: reload a table's raw and quarantine rows from its landing files."""

    suppression = matcher_for(s.data_dir)  # erased persons delivered again stay out

    def resync(source: str, table: str) -> None:
        ingest_table(
            conn,
            source,
            table,
            s.landing_dir,
            allow_synthetic=s.synthetic_data,
            suppression=suppression,
            file_quarantine=s.file_quarantine_dir,  # a bad file is set aside
        )

    return resync


def run_sweep(
    conn: duckdb.DuckDBPyConnection,
    manifest_path: Path,
    today: dt.date,
    *,
    apply: bool,
    s: Settings | None = None,
) -> tuple[SweepResult, dict, Path | None]:
    """Sweep the warehouse and landing zone of ``s``; returns the result, what is left expired
    (after ``apply``; else {}) and the report written (``apply`` only)."""
    s = s or settings()
    declarations = load_declarations(load_manifest(manifest_path))
    result = sweep(
        conn,
        s.landing_dir,
        declarations,
        today,
        apply=apply,
        resync=resync_with_ingest(conn, s),
        file_quarantine=s.file_quarantine_dir,  # set-aside files past their retention
    )
    if not apply:
        return result, {}, None
    report = write_report(result, s.reports_dir)
    left = expired_left(conn, s.landing_dir, declarations, today, s.file_quarantine_dir)
    return result, left, report


def build_sweep_asset(manifest_path: Path) -> dg.AssetsDefinition:
    @dg.asset(
        key=SWEEP_KEY,
        group_name="landing",
        kinds={"csv", "duckdb"},
        description=(
            "Retention sweep: deletes the rows whose retention (catalog retention) has expired "
            "from the landing files, the raw tables and quarantine.rejected_rows, before the "
            "ingest; writes reports/sweep-<date>.json (counts only)."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=SWEEP_KEY,
                blocking=True,
                description="No expired row is left in any raw table, the quarantine or a "
                "landing file.",
            )
        ],
    )
    def retention_sweep(context: dg.AssetExecutionContext, warehouse: Warehouse):
        today = dt.date.today()
        try:
            with warehouse.connect() as conn:
                result, left, report = run_sweep(conn, manifest_path, today, apply=True)
        except (PurgeError, IngestError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        total = result.purge.total()
        context.log.info(
            f"retention sweep {today}: {total.raw} raw, {total.quarantine} quarantine and "
            f"{total.landing} landing rows deleted ({total.files_rewritten} files rewritten)"
        )
        yield dg.MaterializeResult(
            metadata={
                "rows_deleted_raw": total.raw,
                "rows_deleted_quarantine": total.quarantine,
                "rows_deleted_landing": total.landing,
                "files_rewritten": total.files_rewritten,
                "set_aside_files_deleted": result.set_aside.expired if result.set_aside else 0,
                "tables": dg.MetadataValue.json(result.purge.to_json()["tables"]),
                "report": dg.MetadataValue.path(str(report)),
            }
        )
        yield dg.AssetCheckResult(
            check_name=CHECK_NAME,
            passed=not left,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"expired_left": dg.MetadataValue.json(left)},
            description=None if not left else f"expired rows left in {', '.join(sorted(left))}",
        )

    return retention_sweep
