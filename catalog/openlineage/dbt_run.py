"""The events of a ``dbt build`` (or ``run``, ``seed``, ``snapshot``): START, then COMPLETE or
FAIL, per model, seed and snapshot it executed, from ``manifest.json`` and ``run_results.json``.

Jobs are named as openlineage-dbt names them: ``<database>.<schema>.<package>.<model>`` plus
``.build.run`` (``.build.snapshot``, ``.build.seed``) under ``dbt build``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent

from catalog.lineage.graph import ProjectGraph
from catalog.openlineage.column_lineage import graph_column_lineage, identity_lineage
from catalog.openlineage.dataset_facets import (
    assertions_facet,
    datasource_facet,
    documentation_facet,
    ownership_facet,
    schema_facet,
    statistics_facet,
)
from catalog.openlineage.dbt_nodes import (
    DBT_RESOURCES,
    manifest_owner,
    node_columns,
    upstream_datasets,
)
from catalog.openlineage.dbt_tests import dbt_test_assertions
from catalog.openlineage.errors import LineageEventError
from catalog.openlineage.naming import DEFAULT_JOB_NAMESPACE, Datasets, file_dataset
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.privacy_tags import node_column_tags, tags_facet
from catalog.openlineage.run_events import chronological, stable_run_id, start_and_end
from catalog.openlineage.run_facets import job_facets, run_facets
from catalog.openlineage.timestamps import Timestamp, iso_timestamp
from catalog.openlineage.verdict import PolicyVerdictRunFacet

__all__ = ["dbt_run_events"]

_DBT_JOB_TYPES = {"model": "MODEL", "seed": "SEED", "snapshot": "SNAPSHOT"}
_DBT_BUILD_SUFFIX = {"model": ".build.run", "seed": ".build.seed", "snapshot": ".build.snapshot"}
_DBT_SUFFIX = {"model": "", "seed": ".seed", "snapshot": ".snapshot"}


def _execute_timing(result: Mapping[str, Any], fallback: str) -> tuple[str, str]:
    """The execute phase's start and end (as openlineage-dbt); without one, the run's time."""
    for timing in result.get("timing") or []:
        if timing.get("name") == "execute" and timing.get("started_at"):
            return timing["started_at"], timing.get("completed_at") or timing["started_at"]
    return fallback, fallback


def dbt_run_events(
    manifest_json: Mapping[str, Any],
    run_results: Mapping[str, Any],
    graph: ProjectGraph,
    tags: Mapping[str, Any] | None,
    *,
    parent: ParentRun | None,
    namespace: str = DEFAULT_JOB_NAMESPACE,
    warehouse: str | Path,
    verdict: PolicyVerdictRunFacet | None = None,
    nominal_time: Timestamp | None = None,
    project_dir: str | Path | None = None,
    owner_of: Callable[[Mapping[str, Any]], str | None] | None = None,
    row_counts: Mapping[str, int] | None = None,
) -> list[RunEvent]:
    """START and COMPLETE / FAIL for every model, seed and snapshot the invocation executed.

    ``manifest_json`` / ``run_results`` are dbt's artifacts of one invocation; ``graph`` the
    column graph of the same manifest (``catalog.lineage.build_project_graph``); ``tags`` the
    resolved tags (``catalog.tags.project_tags``) or ``{unique_id: {column: {key: value}}}``.
    ``warehouse`` is the DuckDB file (dataset namespace), ``project_dir`` the dbt project
    (source code locations, seed files), ``owner_of(props)`` the group company of a manifest
    node. Events come in time order; skipped nodes have none.
    """
    nodes: dict[str, Mapping[str, Any]] = {
        **(manifest_json.get("sources") or {}),
        **(manifest_json.get("nodes") or {}),
    }
    datasets = Datasets(warehouse, nodes, graph)
    metadata = run_results.get("metadata") or {}
    dbt_version = (
        metadata.get("dbt_version")
        or (manifest_json.get("metadata") or {}).get("dbt_version")
        or "unknown"
    )
    invocation = str(metadata.get("invocation_id") or "")
    fallback_time = metadata.get("generated_at") or iso_timestamp(dt.datetime.now(dt.UTC))
    build = (run_results.get("args") or {}).get("which") == "build"
    assertions = dbt_test_assertions(manifest_json, run_results)
    root = Path(project_dir).absolute() if project_dir is not None else None

    pairs = []
    for result in run_results.get("results") or []:
        uid = str(result.get("unique_id", ""))
        kind = uid.split(".")[0]
        status = result.get("status")
        if kind not in DBT_RESOURCES or status not in ("success", "error"):
            continue
        props = nodes.get(uid)
        if props is None:
            raise LineageEventError(
                f"run_results names {uid}, which the manifest does not have; pass the manifest "
                "of the same dbt invocation"
            )
        output = datasets(uid)
        if output is None:
            continue  # an ephemeral model writes nothing
        if uid not in graph.nodes:
            raise LineageEventError(
                f"the lineage graph has no node {uid}; build the graph from the same manifest"
            )
        started_at, completed_at = map(iso_timestamp, _execute_timing(result, fallback_time))
        code_root = root or (Path(props["root_path"]) if props.get("root_path") else None)
        code = code_root / props["original_file_path"] if code_root else None
        columns = node_columns(props, graph)
        column_names = [c[0] for c in columns]

        inputs = [
            InputDataset(
                namespace=ds.namespace,
                name=ds.name,
                facets={"schema": schema_facet(node_columns(nodes[up], graph))},
            )
            for ds, up in upstream_datasets(props, nodes, datasets).items()
        ]
        if kind == "seed" and code is not None:
            seed_file = file_dataset(code)
            inputs.append(InputDataset(namespace=seed_file.namespace, name=seed_file.name))
            lineage = identity_lineage([seed_file], column_names, filtered=False)
        else:
            lineage = graph_column_lineage(graph, uid, datasets)

        facets: dict[str, Any] = {
            "schema": schema_facet(columns),
            **datasource_facet(output),
            "columnLineage": lineage,
            "tags": tags_facet(node_column_tags(tags, uid), order=column_names),
            **ownership_facet(owner_of(props) if owner_of else manifest_owner(props)),
            **documentation_facet(props.get("description")),
        }
        rows = (result.get("adapter_response") or {}).get("rows_affected")
        if not isinstance(rows, int) or rows < 0:
            rows = (row_counts or {}).get(uid)
        suffix = (_DBT_BUILD_SUFFIX if build else _DBT_SUFFIX)[kind]
        job = Job(
            namespace=namespace,
            name=f"{output.name.rsplit('.', 1)[0]}.{uid.split('.', 1)[1]}{suffix}",
            facets=job_facets(
                integration="DBT",
                job_type=_DBT_JOB_TYPES[kind],
                sql=props.get("compiled_code") if kind != "seed" else None,
                code=code,
            ),
        )
        pairs.append(
            start_and_end(
                job=job,
                run_id=stable_run_id(started_at, f"{invocation}:{uid}"),
                run_facets=run_facets(
                    parent=parent,
                    engine="dbt",
                    engine_version=dbt_version,
                    nominal_time=nominal_time,
                    verdict=verdict,
                ),
                inputs=inputs,
                start_outputs=[OutputDataset(output.namespace, output.name, facets=facets)],
                end_outputs=[
                    OutputDataset(
                        output.namespace,
                        output.name,
                        facets={**facets, **assertions_facet(assertions.get(uid, []))},
                        outputFacets=statistics_facet(rows),
                    )
                ],
                started_at=started_at,
                ended_at=completed_at,
                error=_dbt_error(result) if status == "error" else None,
                language="SQL",
            )
        )
    return chronological(pairs)


def _dbt_error(result: Mapping[str, Any]) -> str:
    message = " ".join(str(result.get("message") or "").split())
    return message or "dbt reported an error without a message"
