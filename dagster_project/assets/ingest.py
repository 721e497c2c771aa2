"""One Dagster asset per landing table: validate against the contract, load, quarantine."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from catalog.erasure.errors import ErasureError
from catalog.erasure.suppression import matcher_for
from catalog.settings import settings
from catalog.tags import resolve_column_tags
from dagster_project.assets.erasure import ERASURE_KEY
from dagster_project.assets.sweep import SWEEP_KEY
from dagster_project.landing.contract import COMPANIES, TABLES, Table
from dagster_project.landing.deliveries import IngestError
from dagster_project.landing.load import ingest_table
from dagster_project.openlineage import OpenLineageResource, ingest_lineage, nominal_time_of
from dagster_project.resources import Warehouse
from dagster_project.spark import SparkUnavailable, is_spark, load_raw_table, spark_session
from dagster_project.translator import column_schema_for, raw_asset_key, team


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


def build_ingest_asset(table: Table, source_props: Mapping[str, Any] | None = None):
    key = raw_asset_key(table.source, table.name)

    @dg.asset(
        key=key,
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
        check_specs=[dg.AssetCheckSpec("no_quarantined_rows", asset=key)],
        # the retention sweep and the erasure requests run first (assets/sweep.py, erasure.py)
        deps=[SWEEP_KEY, ERASURE_KEY],
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        openlineage: OpenLineageResource,
    ):
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
                    )
                    if is_spark(s.dbt_target):  # validated in DuckDB, then loaded into Spark
                        load_raw_table(spark_session(s), conn, table.source, table.name, s)
            except (IngestError, SparkUnavailable, ErasureError) as exc:
                raise dg.Failure(description=str(exc), allow_retries=False) from None
            lineage.record(result)
        if not result.files:
            context.log.warning(
                f"no delivery for {table.source}/{table.name} under {s.landing_dir}"
            )
        if result.rows_quarantined:
            context.log.warning(
                f"{table.source}/{table.name}: {result.rows_quarantined} of {result.rows_in} rows "
                f"quarantined ({_reasons(result.reasons)}); see quarantine.rejected_rows"
            )
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows_loaded,
                "rows_in": result.rows_in,
                "rows_quarantined": result.rows_quarantined,
                "rows_suppressed": result.rows_suppressed,  # erased persons delivered again
                "files": dg.MetadataValue.json(list(result.files)),
                "quarantine_reasons": dg.MetadataValue.json(dict(result.reasons)),
            }
        )
        yield dg.AssetCheckResult(
            check_name="no_quarantined_rows",
            passed=result.rows_quarantined == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_quarantined": result.rows_quarantined,
                "reasons": dg.MetadataValue.json(dict(result.reasons)),
            },
        )

    return _ingest


def _tags_of(source_props: Mapping[str, Any] | None):
    """The raw table's column tags for the OpenLineage tags facet, from its dbt source."""
    return resolve_column_tags(source_props) if source_props else None


def _reasons(reasons: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))


def build_ingest_assets(source_props: Mapping[tuple[str, str], Mapping[str, Any]] | None = None):
    """Ingest assets for every table of the contract; ``source_props`` maps (source, table) to
    the dbt manifest's source node, whose declared columns carry the privacy tags."""
    source_props = source_props or {}
    return [build_ingest_asset(t, source_props.get((t.source, t.name))) for t in TABLES]
