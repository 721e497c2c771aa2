"""The events of a Python asset of the graph (``asset.<project>.<name>``): a node with a
relation and its declared column lineage (the graph's edges into it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent

from catalog.lineage.graph import ProjectGraph
from catalog.openlineage.column_lineage import graph_column_lineage
from catalog.openlineage.dataset_facets import (
    Assertion,
    assertions_facet,
    datasource_facet,
    documentation_facet,
    ownership_facet,
    schema_facet,
    statistics_facet,
)
from catalog.openlineage.errors import LineageEventError
from catalog.openlineage.naming import DEFAULT_JOB_NAMESPACE, Datasets
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.privacy_tags import node_column_tags, tags_facet
from catalog.openlineage.run_events import stable_run_id, start_and_end
from catalog.openlineage.run_facets import dagster_engine_version, job_facets, run_facets
from catalog.openlineage.timestamps import Timestamp, iso_timestamp
from catalog.openlineage.verdict import PolicyVerdictRunFacet

__all__ = ["asset_events"]


def asset_events(
    node_id: str,
    graph: ProjectGraph,
    tags: Mapping[str, Any] | None,
    *,
    parent: ParentRun | None,
    namespace: str = DEFAULT_JOB_NAMESPACE,
    warehouse: str | Path,
    started_at: Timestamp,
    completed_at: Timestamp,
    error: str | None = None,
    row_count: int | None = None,
    column_types: Mapping[str, str] | None = None,
    owner: str | None = None,
    description: str | None = None,
    assertions: Sequence[Assertion] = (),
    manifest_json: Mapping[str, Any] | None = None,
    code_path: str | Path | None = None,
    job_name: str | None = None,
    nominal_time: Timestamp | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
    dagster_version: str | None = None,
    run_id: str | None = None,
) -> list[RunEvent]:
    """START and COMPLETE / FAIL of a Python asset, a node of the graph with a relation and
    its declared column lineage (the graph's edges into it)."""
    node = graph.nodes.get(node_id)
    if node is None:
        raise LineageEventError(
            f"the lineage graph has no node {node_id}; add the asset and its column lineage to "
            "the graph"
        )
    nodes = {**(manifest_json or {}).get("sources", {}), **(manifest_json or {}).get("nodes", {})}
    datasets = Datasets(warehouse, nodes, graph)
    output = datasets(node_id)
    if output is None:
        raise LineageEventError(
            f"{node_id} has no relation (schema.table); declare where the asset is written"
        )
    started, ended = iso_timestamp(started_at), iso_timestamp(completed_at)
    types = {k.lower(): v for k, v in (column_types or {}).items()}
    inputs = []
    for up in node.depends_on:
        ds = datasets(up)
        if ds is not None:
            inputs.append(InputDataset(ds.namespace, ds.name))
    facets: dict[str, Any] = {
        "schema": schema_facet((c, types.get(c.lower()), None) for c in node.columns),
        **datasource_facet(output),
        "columnLineage": graph_column_lineage(graph, node_id, datasets),
        "tags": tags_facet(
            node_column_tags(tags, node_id), order=list(node.columns), source="DAGSTER"
        ),
        **ownership_facet(owner),
        **documentation_facet(description),
    }
    job_name = job_name or node.name
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
        start_outputs=[OutputDataset(output.namespace, output.name, facets=facets)],
        end_outputs=[
            OutputDataset(
                output.namespace,
                output.name,
                facets={**facets, **assertions_facet(assertions)},
                outputFacets=statistics_facet(row_count),
            )
        ],
        started_at=started,
        ended_at=ended,
        error=error,
        language="PYTHON",
    )
