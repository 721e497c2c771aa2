"""The events of one ingest asset: delivery files in, ``raw_<source>.<table>`` (and the
quarantine table) out. Dagster assets are named by their asset key joined with ``.``
(``raw_bank.customers``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent

from catalog.openlineage.column_lineage import identity_lineage
from catalog.openlineage.dataset_facets import (
    Assertion,
    assertions_facet,
    datasource_facet,
    documentation_facet,
    ownership_facet,
    schema_facet,
    statistics_facet,
)
from catalog.openlineage.naming import DEFAULT_JOB_NAMESPACE, duckdb_dataset, file_dataset
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.privacy_tags import tags_facet
from catalog.openlineage.run_events import stable_run_id, start_and_end
from catalog.openlineage.run_facets import dagster_engine_version, job_facets, run_facets
from catalog.openlineage.timestamps import Timestamp, iso_timestamp
from catalog.openlineage.verdict import PolicyVerdictRunFacet
from catalog.retention.purge import QUARANTINE as QUARANTINE_TABLE

__all__ = ["QUARANTINE_TABLE", "ingest_events"]


def ingest_events(
    source: str,
    table: str,
    files: Sequence[str | Path],
    rows_loaded: int | None,
    rows_quarantined: int | None,
    *,
    parent: ParentRun | None,
    namespace: str = DEFAULT_JOB_NAMESPACE,
    warehouse: str | Path,
    started_at: Timestamp,
    completed_at: Timestamp,
    columns: Sequence[tuple[str, str | None]],
    metadata_columns: Sequence[tuple[str, str | None]] = (),
    landing_root: str | Path | None = None,
    error: str | None = None,
    tags: Mapping[str, Any] | None = None,
    owner: str | None = None,
    description: str | None = None,
    assertions: Sequence[Assertion] = (),
    quarantine_table: str | None = QUARANTINE_TABLE,
    code_path: str | Path | None = None,
    job_name: str | None = None,
    nominal_time: Timestamp | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
    dagster_version: str | None = None,
    run_id: str | None = None,
) -> list[RunEvent]:
    """START and COMPLETE / FAIL of one ingest asset: delivery files in, ``raw_<source>.<table>``
    (and the quarantine table) out.

    ``files`` are absolute or relative to ``landing_root``; ``columns`` the contract's (name,
    DuckDB type) delivered in every file, each loaded from the file's field of that name
    (DIRECT IDENTITY; validation decides which rows are kept: dataset-level INDIRECT FILTER);
    ``metadata_columns`` those the load adds. ``tags`` maps a column to its privacy tags,
    ``owner`` is the group company, ``assertions`` the asset's checks."""
    started, ended = iso_timestamp(started_at), iso_timestamp(completed_at)
    job_name = job_name or f"raw_{source}.{table}"
    root = Path(landing_root) if landing_root is not None else None
    file_ids = [file_dataset((root / f).absolute() if root is not None else Path(f)) for f in files]
    names = [c for c, _ in columns]
    file_schema = schema_facet((c, None, None) for c in names)
    inputs = [
        InputDataset(ds.namespace, ds.name, facets={"schema": file_schema}) for ds in file_ids
    ]

    raw = duckdb_dataset(warehouse, f"raw_{source}", table)
    all_columns = [*columns, *metadata_columns]
    facets: dict[str, Any] = {
        "schema": schema_facet((c, t, None) for c, t in all_columns),
        **datasource_facet(raw),
        "columnLineage": identity_lineage(
            file_ids, names, filtered=True, added=[c for c, _ in metadata_columns]
        ),
        "tags": tags_facet(
            {str(k).lower(): v for k, v in (tags or {}).items()},
            order=[c for c, _ in all_columns],
            source="DBT",
        ),
        **ownership_facet(owner),
        **documentation_facet(description),
    }
    start_outputs = [OutputDataset(raw.namespace, raw.name, facets=facets)]
    end_outputs = [
        OutputDataset(
            raw.namespace,
            raw.name,
            facets={**facets, **assertions_facet(assertions)},
            outputFacets=statistics_facet(rows_loaded),
        )
    ]
    if quarantine_table:
        q_schema, _, q_table = quarantine_table.rpartition(".")
        quarantine = duckdb_dataset(warehouse, q_schema, q_table)
        start_outputs.append(
            OutputDataset(
                quarantine.namespace, quarantine.name, facets=datasource_facet(quarantine)
            )
        )
        end_outputs.append(
            OutputDataset(
                quarantine.namespace,
                quarantine.name,
                facets=datasource_facet(quarantine),
                outputFacets=statistics_facet(rows_quarantined),
            )
        )
    return start_and_end(
        job=Job(
            namespace=namespace,
            name=job_name,
            facets=job_facets(integration="DAGSTER", job_type="ASSET", code=code_path),
        ),
        run_id=run_id or stable_run_id(started, f"{parent.run_id if parent else ''}:{job_name}"),
        run_facets=run_facets(
            parent=parent,
            engine="dagster",
            engine_version=dagster_engine_version(dagster_version),
            nominal_time=nominal_time,
            verdict=verdict,
        ),
        inputs=inputs,
        start_outputs=start_outputs,
        end_outputs=end_outputs,
        started_at=started,
        ended_at=ended,
        error=error,
        language="PYTHON",
    )
