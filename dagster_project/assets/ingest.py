"""A Dagster asset per landing table, all in one step: validate against the contract, load,
quarantine.

Each asset's checks (never blocking in Dagster's sense, so the rest of the group builds):

* ``no_quarantined_rows`` (WARN): rows rejected into ``quarantine.rejected_rows``;
* ``no_files_set_aside`` (WARN, ordinary tables): delivery files that cannot be read sit in the
  file quarantine (``Settings.file_quarantine_dir``), named with their reason; the table holds
  what its other deliveries give. It fails until the file is fixed, delivered again and its
  quarantined copy deleted;
* ``contract_columns_only`` (WARN, privacy event logs): unknown columns ignored, per file;
* ``restricting_events_applied`` (ERROR, privacy event logs that withhold): restricting events
  that could not be applied, by file and line. It blocks the outputs it governs, the models
  downstream of the log, which the dbt step leaves out of its build and withdraws
  (``assets/dbt.py``); Dagster's own blocking would skip the whole dbt step, one op for every
  model.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from catalog.erasure.errors import ErasureError
from catalog.erasure.suppression import matcher_for
from catalog.file_quarantine import set_aside_files
from catalog.settings import settings
from catalog.tags import resolve_column_tags
from dagster_project.assets.erasure import ERASURE_KEY
from dagster_project.assets.sweep import SWEEP_KEY
from dagster_project.landing.contract import COMPANIES, TABLES, Table
from dagster_project.landing.deliveries import IngestError
from dagster_project.landing.load import IngestResult, ingest_table
from dagster_project.openlineage import OpenLineageResource, ingest_lineage, nominal_time_of
from dagster_project.resources import Warehouse
from dagster_project.spark import SparkUnavailable, is_spark, load_raw_table, spark_session
from dagster_project.translator import column_schema_for, raw_asset_key, team

# A run tagged so reloads every delivery file and rebuilds every dbt model in full
# (`fjordbank run --full-refresh`); without it the ingest reads only the files that changed
# (raw_meta.loaded_files) and the event models are incremental.
FULL_REFRESH_TAG = "fjordbank/full_refresh"
# The one step (op) that ingests every landing table.
INGEST_STEP = "ingest"


def full_refresh_requested(tags: Mapping[str, str]) -> bool:
    """Whether a run's tags ask for a full rebuild (:data:`FULL_REFRESH_TAG` = ``true``)."""
    return tags.get(FULL_REFRESH_TAG, "").lower() == "true"


def _schema_for(table: Table, source_props: Mapping[str, Any] | None) -> dg.TableSchema:
    """Column schema of the raw table: the dbt source's declaration (with privacy tags) where
    there is one, else the contract's columns and types."""
    if source_props:
        schema = column_schema_for(source_props)
        if schema is not None:
            return schema
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.type.duckdb_type) for c in table.columns]
    )


def _asset_spec(table: Table, source_props: Mapping[str, Any] | None) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_asset_key(table.source, table.name),
        group_name="landing",
        owners=[team(COMPANIES[table.source])],
        kinds={"csv", "duckdb"},
        description=(
            f"{table.description} Loaded from <landing>/{table.source}/{table.name}/*.csv into "
            f"raw_{table.source}.{table.name}; rejected rows go to quarantine.rejected_rows."
        ),
        metadata={
            "dagster/column_schema": _schema_for(table, source_props),
            "dagster/table_name": f"raw_{table.source}.{table.name}",
            "fjordbank/company": COMPANIES[table.source],
            "fjordbank/primary_key": ", ".join(table.key),
        },
        # the retention sweep and the erasure requests run first (assets/sweep.py, erasure.py)
        deps=[SWEEP_KEY, ERASURE_KEY],
    )


def build_ingest_assets(source_props: Mapping[tuple[str, str], Mapping[str, Any]] | None = None):
    """The ingest of every table of the contract: an asset per landing table
    (``raw_<source>/<table>``, with its checks) of one multi-asset, ``ingest``, so one step
    loads them all (a step each cost Dagster more than a table with nothing new to load takes).
    A run that selects some tables loads those. A table whose delivery cannot be ingested is
    logged and the others still load; then the step fails, naming each (a warehouse that
    cannot be opened, or an unexpected error, stops it at once). ``source_props`` maps (source,
    table) to the dbt manifest's source node, whose declared columns carry the privacy tags."""
    source_props = source_props or {}
    tables = {raw_asset_key(t.source, t.name): t for t in TABLES}

    @dg.multi_asset(
        name=INGEST_STEP,
        specs=[_asset_spec(t, source_props.get((t.source, t.name))) for t in TABLES],
        check_specs=[spec for key, t in tables.items() for spec in _check_specs(t, key)],
        can_subset=True,
    )
    def ingest(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        openlineage: OpenLineageResource,
    ):
        checks = context.selected_asset_check_keys
        failed: dict[str, list[str]] = {}  # reason: tables
        for key, table in tables.items():
            if key not in context.selected_asset_keys:
                continue
            try:
                for event in _ingest_table(
                    context,
                    table,
                    key,
                    warehouse,
                    openlineage,
                    source_props.get((table.source, table.name)),
                ):
                    if (
                        not isinstance(event, dg.AssetCheckResult)
                        or dg.AssetCheckKey(key, event.check_name) in checks
                    ):
                        yield event
            except _TableNotIngested as exc:  # the other tables still load; the step fails below
                context.log.error(f"{table.source}/{table.name} not ingested: {exc}")
                failed.setdefault(str(exc), []).append(f"{table.source}/{table.name}")
            # anything else (the warehouse cannot be opened, a bug) stops the step at once: it
            # is not one table's, and trying every other table would only repeat it
        if failed:
            raise dg.Failure(
                description=f"{sum(map(len, failed.values()))} table(s) not ingested: "
                + "; ".join(f"{', '.join(names)}: {reason}" for reason, names in failed.items()),
                allow_retries=False,
            )

    return [ingest]


class _TableNotIngested(Exception):
    """One table's delivery cannot be ingested (its one-line reason); the others can be."""


def _ingest_table(
    context: dg.AssetExecutionContext,
    table: Table,
    key: dg.AssetKey,
    warehouse: Warehouse,
    openlineage: OpenLineageResource,
    source_props: Mapping[str, Any] | None,
):
    """One table's ingest: its materialisation and check results, or
    :class:`_TableNotIngested`."""
    s = settings()
    with (
        openlineage.emitter(context.log) as emitter,
        ingest_lineage(
            emitter,
            table.source,
            table.name,
            parent=openlineage.parent(context),
            landing_root=s.landing_dir,
            warehouse=Path(warehouse.path),
            tags=_tags_of(source_props),
            namespace=openlineage.namespace,
            nominal_time=nominal_time_of(context.run.tags),
        ) as lineage,
    ):
        try:
            with warehouse.connect() as conn:
                result = ingest_table(
                    conn,
                    table.source,
                    table.name,
                    s.landing_dir,
                    allow_synthetic=s.synthetic_data,
                    suppression=matcher_for(s.data_dir),  # erased persons delivered again
                    file_quarantine=s.file_quarantine_dir,
                    full=full_refresh_requested(context.run.tags),
                )
                if is_spark(s.dbt_target):  # validated in DuckDB, then loaded into Spark
                    load_raw_table(spark_session(s), conn, table.source, table.name, s)
        except (IngestError, SparkUnavailable, ErasureError) as exc:
            raise _TableNotIngested(str(exc)) from None
        lineage.record(result)
    if not result.files:
        context.log.warning(f"no delivery for {table.source}/{table.name} under {s.landing_dir}")
    for f in result.set_aside:
        context.log.warning(f"delivery file set aside: {f.to_text()}")
    for rel, column in result.ignored_columns:
        context.log.warning(
            f"{rel}: unknown column {column!r} ignored; the rows loaded from the contract's "
            "columns. Ask the data owner to deliver the contract's columns only"
        )
    if result.unapplied:
        shown = "; ".join(u.to_text() for u in result.unapplied[:_SHOWN])
        more = (
            f" and {len(result.unapplied) - _SHOWN} more" if len(result.unapplied) > _SHOWN else ""
        )
        context.log.error(
            f"{len(result.unapplied)} restricting privacy event(s) not applied: {shown}{more}. "
            f"The outputs downstream of {table.source}.{table.name} are withheld until they "
            "are delivered again correctly"
        )
    context.log.info(
        f"{table.source}/{table.name}: "
        + ("full load" if result.full else "incremental load")
        + f", {len(result.files_read)} of {len(result.files)} file(s) read, "
        f"{len(result.files_removed)} file(s) whose rows were removed or replaced"
    )
    if result.rows_quarantined:
        context.log.warning(
            f"{table.source}/{table.name}: {result.rows_quarantined} of {result.rows_in} rows "
            f"quarantined ({_reasons(result.reasons)}); see quarantine.rejected_rows"
        )
    yield dg.MaterializeResult(
        asset_key=key,
        metadata={
            "dagster/row_count": result.rows_loaded,
            "rows_in": result.rows_in,
            "rows_quarantined": result.rows_quarantined,
            "rows_suppressed": result.rows_suppressed,  # erased persons delivered again
            "files": dg.MetadataValue.json(list(result.files)),
            "files_read": dg.MetadataValue.json(list(result.files_read)),
            "files_removed": dg.MetadataValue.json(list(result.files_removed)),
            "full_load": result.full,
            "quarantine_reasons": dg.MetadataValue.json(dict(result.reasons)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name="no_quarantined_rows",
        passed=result.rows_quarantined == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_quarantined": result.rows_quarantined,
            "reasons": dg.MetadataValue.json(dict(result.reasons)),
        },
    )
    yield from _file_checks(table, key, result, s.file_quarantine_dir)


RESTRICTING_CHECK = "restricting_events_applied"
_SHOWN = 20  # files or events named in a check's description


def _check_specs(table: Table, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec("no_quarantined_rows", asset=key)]
    events = table.privacy_events
    if events is None:
        specs.append(
            dg.AssetCheckSpec(
                "no_files_set_aside",
                asset=key,
                description="No delivery file of this table sits in the file quarantine "
                "(a file that cannot be read is set aside with its reason; the table holds "
                "what the other deliveries give).",
            )
        )
        return specs
    specs.append(
        dg.AssetCheckSpec(
            "contract_columns_only",
            asset=key,
            description="Every delivery has only the contract's columns (an unknown column is "
            "ignored and the events load from the contract's columns).",
        )
    )
    if not events.stop_run:
        specs.append(
            dg.AssetCheckSpec(
                RESTRICTING_CHECK,
                asset=key,
                description="Every restricting event of this log was applied. When one was not "
                "(a file that cannot be read, a restricting row rejected), the outputs "
                "downstream of this log are withheld: the dbt step leaves them out and drops "
                "their relations until the event is delivered again correctly.",
            )
        )
    return specs


def _file_checks(table: Table, key: dg.AssetKey, result: IngestResult, folder: Path):
    """The checks of :func:`_check_specs` beyond ``no_quarantined_rows``."""
    events = table.privacy_events
    if events is None:
        held = set_aside_files(folder, table.source, table.name)
        lines = [f.to_text() for f in held]
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="no_files_set_aside",
            passed=not held,
            severity=dg.AssetCheckSeverity.WARN,
            description=None
            if not held
            else f"{len(held)} delivery file(s) set aside: "
            + "; ".join(lines[:_SHOWN])
            + ". Fix each file, deliver it again under the landing folder and delete the "
            "quarantined copy and its JSON",
            metadata={
                "files_set_aside": dg.MetadataValue.json(
                    [
                        {
                            "file": str(f.file),
                            "original": f.original,
                            "reason": f.reason,
                            "set_aside_at": f.set_aside_at,
                            "sha256": f.sha256,
                        }
                        for f in held
                    ]
                ),
            },
        )
        return
    ignored: dict[str, list[str]] = {}
    for rel, column in result.ignored_columns:
        ignored.setdefault(rel, []).append(column)
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name="contract_columns_only",
        passed=not ignored,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if not ignored
        else "unknown columns ignored: "
        + "; ".join(f"{rel}: {', '.join(cols)}" for rel, cols in ignored.items()),
        metadata={"ignored_columns": dg.MetadataValue.json(ignored)},
    )
    if events.stop_run:
        return
    unapplied = [u.to_text() for u in result.unapplied]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=RESTRICTING_CHECK,
        passed=not unapplied,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None
        if not unapplied
        else f"{len(unapplied)} restricting event(s) not applied, the outputs downstream of "
        f"{table.source}.{table.name} withheld: "
        + "; ".join(unapplied[:_SHOWN])
        + ("; ..." if len(unapplied) > _SHOWN else ""),
        metadata={
            "unapplied_events": len(unapplied),
            "events": dg.MetadataValue.json(unapplied[:1000]),
        },
    )


def _tags_of(source_props: Mapping[str, Any] | None):
    """The raw table's column tags for the OpenLineage tags facet, from its dbt source."""
    return resolve_column_tags(source_props) if source_props else None


def _reasons(reasons: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
