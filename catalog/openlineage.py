"""OpenLineage run events for everything the platform materialises, built from the catalog.

Pure functions from the project's column graph, dbt's artifacts, the resolved privacy tags and
the outcome of a run to ``openlineage.client.event_v2.RunEvent`` objects (openlineage-python's
generated classes, never hand-built JSON). Sending them is ``dagster_project.openlineage``'s job.

- :func:`dbt_run_events`: START, then COMPLETE or FAIL, per model, seed and snapshot a
  ``dbt build`` executed (from ``manifest.json`` and ``run_results.json``).
- :func:`ingest_events`: one landing table loaded from its delivery files.
- :func:`asset_events`: a Python asset of the graph (``asset.<project>.<name>``).
- :func:`dagster_run_event`: the Dagster run itself, the parent of all of the above.

Every output dataset carries ``schema``, ``columnLineage`` (the graph's DIRECT / INDIRECT edges
into it, dataset-level edges in the facet's ``dataset`` list), ``tags`` (one entry per column and
privacy tag), ``ownership`` and ``documentation``; on COMPLETE also ``dataQualityAssertions``
(the checks run on it) and ``outputStatistics`` when the row count is known; every job
``jobType`` and ``sourceCodeLocation`` (``sql`` for SQL models); every run ``parent``,
``processing_engine``, ``nominalTime`` for scheduled runs and the policy verdict as the custom
facet ``fjordbank_policyVerdict`` (schema shipped in ``catalog/schemas``).

Naming (OpenLineage's naming conventions, https://openlineage.io/docs/spec/naming):

- warehouse tables: namespace ``duckdb://<absolute path of the DuckDB file>``, name
  ``<database>.<schema>.<table>`` with the DuckDB catalog (the file's stem) as database, as
  openlineage-dbt names dbt-duckdb relations;
- landing files: ``openlineage.client.naming.dataset.LocalFileSystem``: namespace ``file``,
  name the absolute path;
- dbt jobs as openlineage-dbt: ``<database>.<schema>.<package>.<model>`` plus ``.build.run``
  (``.build.snapshot``, ``.build.seed``) under ``dbt build``; Dagster assets: the asset key
  joined with ``.`` (``raw_bank.customers``).

>>> from catalog.lineage.graph import Node
>>> g = ProjectGraph([Node("asset.p.scores", "scores", "asset", ("score",),
...                        relation="marketing.scores")], [])
>>> parent = ParentRun("0191e4a4-0000-7000-8000-000000000001", "build_everything", "fjordbank")
>>> start, end = asset_events("asset.p.scores", g, {}, parent=parent, namespace="fjordbank",
...     warehouse="/data/wh.duckdb", started_at="2026-01-05T05:00:00+00:00",
...     completed_at="2026-01-05T05:00:03+00:00", dagster_version="1.13.0")
>>> start.eventType.value, end.eventType.value, end.outputs[0].name
('START', 'COMPLETE', 'wh.marketing.scores')
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import attr
from openlineage.client.constants import __version__ as OPENLINEAGE_CLIENT_VERSION
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    RunFacet,
    data_quality_assertions_dataset,
    datasource_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    sql_job,
    tags_dataset,
)
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.naming.dataset import LocalFileSystem
from openlineage.client.utils import RedactMixin
from openlineage.client.uuid import generate_static_uuid

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, ProjectGraph, Subtype

__all__ = [
    "DEFAULT_JOB_NAMESPACE",
    "POLICY_VERDICT_FACET",
    "POLICY_VERDICT_SCHEMA_URL",
    "PRIVACY_TAG_KEYS",
    "PRODUCER",
    "Assertion",
    "DatasetId",
    "LineageEventError",
    "ParentRun",
    "PolicyRuleResult",
    "PolicyVerdictRunFacet",
    "asset_events",
    "dagster_run_event",
    "dbt_run_events",
    "dbt_test_assertions",
    "duckdb_dataset",
    "duckdb_namespace",
    "file_dataset",
    "graph_column_lineage",
    "ingest_events",
    "policy_verdict_facet",
    "policy_verdict_schema",
    "privacy_tag_values",
    "schema_facet",
    "tags_facet",
]

PRODUCER = "https://fjordbank.example/platform/catalog"
DEFAULT_JOB_NAMESPACE = "fjordbank"
POLICY_VERDICT_FACET = "fjordbank_policyVerdict"
POLICY_VERDICT_SCHEMA_FILE = "PolicyVerdictRunFacet.json"
POLICY_VERDICT_SCHEMA_URL = (
    "https://fjordbank.example/spec/facets/1-0-0/PolicyVerdictRunFacet.json"
    "#/$defs/PolicyVerdictRunFacet"
)
PRIVACY_TAG_KEYS = (
    "privacy.category",
    "privacy.purposes",
    "privacy.legal_basis",
    "privacy.retention",
)
QUARANTINE_TABLE = "quarantine.rejected_rows"

Assertion = data_quality_assertions_dataset.Assertion
Timestamp = dt.datetime | str
_P: dict[str, str] = {"producer": PRODUCER}
_DBT_RESOURCES = ("model", "seed", "snapshot")
_DBT_JOB_TYPES = {"model": "MODEL", "seed": "SEED", "snapshot": "SNAPSHOT"}
_DBT_BUILD_SUFFIX = {"model": ".build.run", "seed": ".build.seed", "snapshot": ".build.snapshot"}
_DBT_SUFFIX = {"model": "", "seed": ".seed", "snapshot": ".snapshot"}
_DIRECT_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}


class LineageEventError(ValueError):
    """The events cannot be built from what was given (one line: what is wrong, what to do)."""


# -- naming --------------------------------------------------------------------------------


class DatasetId(NamedTuple):
    namespace: str
    name: str


def duckdb_namespace(warehouse: str | Path) -> str:
    """``duckdb://<absolute path>``: the namespace of every table of one DuckDB file."""
    return f"duckdb://{Path(warehouse).absolute().as_posix()}"


def duckdb_dataset(
    warehouse: str | Path, schema: str, table: str, *, database: str | None = None
) -> DatasetId:
    """A warehouse table; ``database`` defaults to the file's stem (DuckDB's catalog name)."""
    return DatasetId(
        duckdb_namespace(warehouse), f"{database or Path(warehouse).stem}.{schema}.{table}"
    )


def file_dataset(path: str | Path) -> DatasetId:
    """A local file, named by ``openlineage.client``'s ``LocalFileSystem`` convention."""
    p = Path(path)
    if not p.is_absolute():
        raise LineageEventError(f"{path}: a file dataset needs an absolute path; resolve it first")
    naming = LocalFileSystem(path=p.as_posix())
    return DatasetId(naming.get_namespace(), naming.get_name())


class _Datasets:
    """Where each node of the project lives: manifest relations first, then the graph's."""

    def __init__(
        self,
        warehouse: str | Path,
        manifest_nodes: Mapping[str, Mapping[str, Any]] | None = None,
        graph: ProjectGraph | None = None,
    ):
        self.warehouse = warehouse
        self.manifest_nodes = manifest_nodes or {}
        self.graph = graph

    def __call__(self, unique_id: str) -> DatasetId | None:
        props = self.manifest_nodes.get(unique_id)
        if props is not None:
            config = props.get("config") or {}
            if config.get("materialized") == "ephemeral":
                return None
            identifier = (
                props.get("identifier")
                if props.get("resource_type") == "source"
                else props.get("alias")
            ) or props.get("name")
            if not identifier or not props.get("schema"):
                return None
            return duckdb_dataset(
                self.warehouse, props["schema"], identifier, database=props.get("database")
            )
        node = self.graph.nodes.get(unique_id) if self.graph is not None else None
        if node is None or not node.relation:
            return None
        schema, _, table = node.relation.rpartition(".")
        if not schema:
            return None
        return duckdb_dataset(self.warehouse, schema, table)


# -- the custom run facet: the policy verdict ------------------------------------------------


@attr.define
class PolicyRuleResult(RedactMixin):
    rule: str
    violations: int


@attr.define
class PolicyVerdictRunFacet(RunFacet):
    """The privacy policy's verdict on the project a run belongs to."""

    verdict: str
    violations: int
    checked_at: str
    rules: list[PolicyRuleResult] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return POLICY_VERDICT_SCHEMA_URL


def policy_verdict_facet(
    violations: Iterable[Any],
    *,
    checked_at: Timestamp,
    rules: Iterable[str] | None = None,
) -> PolicyVerdictRunFacet:
    """The verdict facet from a policy evaluation's violations (anything with a ``rule``).

    ``rules`` lists every rule evaluated (default: ``catalog.policy.RULES``); a violation of a
    rule not listed is still counted, under its own name.
    """
    if rules is None:
        from catalog.policy import RULES  # the policy package is only needed for its names

        rules = RULES
    counts = dict.fromkeys(rules, 0)
    total = 0
    for v in violations:
        rule = v["rule"] if isinstance(v, Mapping) else v.rule
        counts[rule] = counts.get(rule, 0) + 1
        total += 1
    return PolicyVerdictRunFacet(
        verdict="pass" if total == 0 else "fail",
        violations=total,
        checked_at=_iso(checked_at),
        rules=[PolicyRuleResult(rule=r, violations=n) for r, n in counts.items()],
        **_P,
    )


@cache
def policy_verdict_schema() -> dict[str, Any]:
    """The JSON Schema the verdict facet's ``_schemaURL`` points into (shipped in the wheel)."""
    text = resources.files("catalog.schemas").joinpath(POLICY_VERDICT_SCHEMA_FILE).read_text()
    return json.loads(text)


# -- the parent run --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentRun:
    """The Dagster run that materialised something: its run id (a UUID) and job."""

    run_id: str
    job_name: str
    namespace: str = DEFAULT_JOB_NAMESPACE

    def facet(self) -> parent_run.ParentRunFacet:
        """The ``parent`` run facet; a Dagster run has no parent, so it is also the root."""
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_id),
            job=parent_run.Job(namespace=self.namespace, name=self.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.run_id),
                job=parent_run.RootJob(namespace=self.namespace, name=self.job_name),
            ),
            **_P,
        )


# -- dataset facets --------------------------------------------------------------------------


def schema_facet(
    columns: Iterable[tuple[str, str | None, str | None]],
) -> schema_dataset.SchemaDatasetFacet:
    """``schema`` from (name, type, description) triples, in column order."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=name, type=type_ or None, description=description or None, ordinal_position=i
            )
            for i, (name, type_, description) in enumerate(columns, start=1)
        ],
        **_P,
    )


def _compose(outer_type: EdgeType, outer_sub: Subtype, outer_mask: bool, inner: Edge):
    """The edge from ``inner.source`` through a relation-less node: DIRECT only when both
    steps are DIRECT (the stronger subtype wins); else INDIRECT with the indirect step's
    subtype (as the project graph derives snapshot columns)."""
    if outer_type is EdgeType.DIRECT and inner.type is EdgeType.DIRECT:
        sub = max(outer_sub, inner.subtype, key=lambda s: _DIRECT_RANK[s])
        return EdgeType.DIRECT, sub, outer_mask or inner.masking
    if inner.type is EdgeType.DIRECT:
        return EdgeType.INDIRECT, outer_sub, False
    return EdgeType.INDIRECT, inner.subtype, False


def _materialised(
    graph: ProjectGraph,
    source: ColumnRef,
    kind: tuple[EdgeType, Subtype, bool],
    dataset_of: Callable[[str], DatasetId | None],
    seen: frozenset[ColumnRef] = frozenset(),
) -> Iterator[tuple[DatasetId, str, tuple[EdgeType, Subtype, bool]]]:
    """The dataset columns behind ``source``: itself when it lives in a dataset, else (an
    ephemeral model, inlined by dbt) the columns it is computed from, edges composed."""
    ds = dataset_of(source.node)
    if ds is not None:
        yield ds, source.column, kind
        return
    if source.node not in graph.nodes or source in seen:
        return
    for inner in graph.inputs(source):
        composed = _compose(*kind, inner)
        yield from _materialised(graph, inner.source, composed, dataset_of, seen | {source})


def graph_column_lineage(
    graph: ProjectGraph, node_id: str, dataset_of: Callable[[str], DatasetId | None]
) -> cl.ColumnLineageDatasetFacet:
    """``columnLineage`` of one node from the graph's edges into it: the same edges the policy
    evaluates. Column-level edges go to ``fields``, dataset-level ones (JOIN, FILTER, GROUP_BY,
    SORT) to ``dataset``; each input field is named after the dataset it lives in."""
    node = graph.nodes[node_id]
    fields: dict[str, dict[tuple[str, str, str], list[cl.Transformation]]] = {
        c: {} for c in node.columns
    }
    dataset: dict[tuple[str, str, str], list[cl.Transformation]] = {}
    for edge in graph.edges:
        if edge.target_node != node_id:
            continue
        target = (
            dataset if edge.target_column is None else fields.setdefault(edge.target_column, {})
        )
        outer = (edge.type, edge.subtype, edge.masking)
        for ds, column, (type_, sub, masking) in _materialised(
            graph, edge.source, outer, dataset_of
        ):
            transformation = cl.Transformation(
                type=str(type_), subtype=str(sub), masking=bool(masking)
            )
            found = target.setdefault((ds.namespace, ds.name, column), [])
            if transformation not in found:
                found.append(transformation)

    def inputs(deps: Mapping[tuple[str, str, str], list[cl.Transformation]]):
        return [
            cl.InputField(namespace=ns, name=name, field=field, transformations=ts)
            for (ns, name, field), ts in deps.items()
        ]

    return cl.ColumnLineageDatasetFacet(
        fields={c: cl.Fields(inputFields=inputs(deps)) for c, deps in fields.items()},
        dataset=inputs(dataset),
        **_P,
    )


def _identity_lineage(
    inputs: Sequence[DatasetId],
    columns: Sequence[str],
    *,
    filtered: bool,
    added: Sequence[str] = (),
) -> cl.ColumnLineageDatasetFacet:
    """Each column copied from the same-named field of every input (files loaded as they are);
    ``filtered``: every input field also decides which rows are kept (validation); ``added``:
    columns the load adds (file name, line), from no input field."""

    def fields_of(column: str, type_: str, subtype: str) -> list[cl.InputField]:
        return [
            cl.InputField(
                namespace=ds.namespace,
                name=ds.name,
                field=column,
                transformations=[cl.Transformation(type=type_, subtype=subtype, masking=False)],
            )
            for ds in inputs
        ]

    return cl.ColumnLineageDatasetFacet(
        fields={
            **{c: cl.Fields(inputFields=fields_of(c, "DIRECT", "IDENTITY")) for c in columns},
            **{c: cl.Fields(inputFields=[]) for c in added},
        },
        dataset=[f for c in columns for f in fields_of(c, "INDIRECT", "FILTER")]
        if filtered
        else [],
        **_P,
    )


def privacy_tag_values(tags: Any) -> dict[str, str]:
    """``{"privacy.category": ..., ...}`` of one column: from ``catalog.tags.ColumnTags`` or
    from a plain mapping (list values are joined with ``", "``); unset tags are left out."""
    if isinstance(tags, Mapping):
        raw = dict(tags)
    else:
        raw = {
            "privacy.category": tags.category,
            "privacy.purposes": list(tags.purposes),
            "privacy.legal_basis": [*tags.legal_basis, *tags.art9_ground],
            "privacy.retention": tags.retention,
        }
    out = {}
    for key, value in raw.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        if value:
            out[key] = str(value)
    return out


def tags_facet(
    columns: Mapping[str, Any], *, order: Sequence[str] | None = None, source: str = "DBT"
) -> tags_dataset.TagsDatasetFacet:
    """``tags``: one entry per column and privacy tag, ``field`` set to the column.

    ``columns`` maps a column to its tags (``ColumnTags`` or ``{"privacy.category": ...}``);
    ``order`` lists the columns in dataset order (default: the mapping's)."""
    entries = []
    for column in order if order is not None else list(columns):
        tags = columns.get(column)
        if tags is None:
            continue
        values = privacy_tag_values(tags)
        for key in (*PRIVACY_TAG_KEYS, *sorted(set(values) - set(PRIVACY_TAG_KEYS))):
            if key in values:
                entries.append(
                    tags_dataset.TagsDatasetFacetFields(
                        key=key, value=values[key], source=source, field=column
                    )
                )
    return tags_dataset.TagsDatasetFacet(tags=entries, **_P)


def _column_tags(tags: Mapping[str, Any] | None, unique_id: str) -> Mapping[str, Any]:
    """One node's column tags from ``ProjectTags`` (NodeTags) or a plain nested mapping."""
    entry = (tags or {}).get(unique_id)
    if entry is None:
        return {}
    columns = getattr(entry, "columns", entry)
    return {str(k).lower(): v for k, v in columns.items()}


def _ownership(company: str | None) -> dict[str, ownership_dataset.OwnershipDatasetFacet]:
    if not company:
        return {}
    return {
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=f"company:{company}", type="COMPANY")], **_P
        )
    }


def _documentation(text: str | None) -> dict[str, documentation_dataset.DocumentationDatasetFacet]:
    text = (text or "").strip()
    if not text:
        return {}
    return {
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description=text, contentType="text/markdown", **_P
        )
    }


def _assertions(assertions: Sequence[Assertion]) -> dict[str, Any]:
    if not assertions:
        return {}
    return {
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=list(assertions), **_P
        )
    }


def _datasource(ds: DatasetId) -> dict[str, datasource_dataset.DatasourceDatasetFacet]:
    return {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=ds.namespace, uri=ds.namespace, **_P
        )
    }


def _statistics(rows: int | None) -> dict[str, Any]:
    if rows is None or rows < 0:
        return {}
    return {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=int(rows), **_P
        )
    }


# -- job and run facets ----------------------------------------------------------------------


def _job_facets(
    *, integration: str, job_type: str, sql: str | None = None, code: str | Path | None = None
) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=integration, jobType=job_type, **_P
        )
    }
    if sql:
        facets["sql"] = sql_job.SQLJobFacet(query=sql, dialect="duckdb", **_P)
    if code is not None:
        path = Path(code).absolute()
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=path.as_uri(), path=path.as_posix(), **_P
        )
    return facets


def _run_facets(
    *,
    parent: ParentRun | None,
    engine: str,
    engine_version: str,
    nominal_time: Timestamp | None,
    verdict: PolicyVerdictRunFacet | None,
) -> dict[str, RunFacet]:
    facets: dict[str, RunFacet] = {}
    if parent is not None:
        facets["parent"] = parent.facet()
    facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
        version=engine_version,
        name=engine,
        openlineageAdapterVersion=OPENLINEAGE_CLIENT_VERSION,
        **_P,
    )
    if nominal_time is not None:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_iso(nominal_time), **_P
        )
    if verdict is not None:
        facets[POLICY_VERDICT_FACET] = verdict
    return facets


def _dagster_version(given: str | None) -> str:
    if given:
        return given
    try:  # read from the distribution's metadata: catalog never imports Dagster
        return importlib.metadata.version("dagster")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _iso(t: Timestamp) -> str:
    """ISO 8601 with offset (a string that has one is kept as it is); naive is taken as UTC."""
    if isinstance(t, str):
        try:
            parsed = dt.datetime.fromisoformat(t)
        except ValueError:
            raise LineageEventError(
                f"{t!r} is not an ISO 8601 timestamp; pass a datetime"
            ) from None
        if parsed.tzinfo is not None:
            return t
        t = parsed
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.isoformat()


def _parse_time(text: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _run_id(started_at: str, key: str) -> str:
    """A UUIDv7 for the run, stable for the same start time and key (re-emission safe)."""
    instant = _parse_time(started_at) or dt.datetime.now(dt.UTC)
    return str(generate_static_uuid(instant=instant, data=key.encode("utf-8")))


def _events(
    *,
    job: Job,
    run_id: str,
    run_facets: Mapping[str, RunFacet],
    inputs: list[InputDataset],
    start_outputs: list[OutputDataset],
    end_outputs: list[OutputDataset],
    started_at: str,
    ended_at: str,
    error: str | None,
    language: str,
) -> list[RunEvent]:
    """START then COMPLETE (or FAIL with the error and no outputs, as openlineage-dbt does)."""
    start = RunEvent(
        eventType=RunState.START,
        eventTime=started_at,
        run=Run(runId=run_id, facets=dict(run_facets)),
        job=job,
        inputs=inputs,
        outputs=start_outputs,
        **_P,
    )
    if error is None:
        end_state, end_facets, outputs = RunState.COMPLETE, dict(run_facets), end_outputs
    else:
        end_state, outputs = RunState.FAIL, []
        end_facets = {
            **run_facets,
            "errorMessage": error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage=language, **_P
            ),
        }
    end = RunEvent(
        eventType=end_state,
        eventTime=ended_at,
        run=Run(runId=run_id, facets=end_facets),
        job=job,
        inputs=inputs,
        outputs=outputs,
        **_P,
    )
    return [start, end]


def _chronological(pairs: Iterable[list[RunEvent]]) -> list[RunEvent]:
    """All events by time; a run's START always precedes its end (stable sort, START first)."""
    events = [e for pair in pairs for e in pair]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)

    def key(e: RunEvent) -> tuple[dt.datetime, int]:
        return (_parse_time(e.eventTime) or epoch, 0 if e.eventType is RunState.START else 1)

    return sorted(events, key=key)


# -- dbt -------------------------------------------------------------------------------------


def dbt_test_assertions(
    manifest_json: Mapping[str, Any], run_results: Mapping[str, Any]
) -> dict[str, list[Assertion]]:
    """``dataQualityAssertions`` entries per tested node from a run's test results.

    ``assertion`` is the generic test (``not_null``, ``accepted_values``; ``custom_sql`` for a
    singular test), ``name`` the test node, ``success`` whether it passed (a ``warn`` found
    issues, so it is False with severity ``warn``), ``column`` the tested column if any.
    Skipped tests are left out."""
    nodes = manifest_json.get("nodes") or {}
    out: dict[str, list[Assertion]] = {}
    for result in run_results.get("results") or []:
        uid = result.get("unique_id", "")
        props = nodes.get(uid)
        status = result.get("status")
        if not uid.startswith("test.") or props is None or status == "skipped":
            continue
        target = props.get("attached_node") or next(
            (
                d
                for d in reversed((props.get("depends_on") or {}).get("nodes") or [])
                if d.split(".")[0] in (*_DBT_RESOURCES, "source")
            ),
            None,
        )
        if target is None:
            continue
        metadata = props.get("test_metadata") or {}
        column = props.get("column_name") or (metadata.get("kwargs") or {}).get("column_name")
        severity = (props.get("config") or {}).get("severity")
        out.setdefault(target, []).append(
            Assertion(
                assertion=metadata.get("name") or "custom_sql",
                success=status == "pass",
                column=column or None,
                severity=str(status if status == "warn" else severity or "").lower() or None,
                name=props.get("name"),
            )
        )
    return out


def _dbt_columns(
    props: Mapping[str, Any], graph: ProjectGraph | None
) -> list[tuple[str, str | None, str | None]]:
    """The node's columns (the graph's, inferred from the SQL) with the YAML's types and
    descriptions."""
    declared = {str(c.get("name", k)).lower(): c for k, c in (props.get("columns") or {}).items()}
    node = graph.nodes.get(props["unique_id"]) if graph is not None else None
    names = list(node.columns) if node is not None and node.columns else list(declared)
    return [
        (
            name,
            (declared.get(name.lower()) or {}).get("data_type"),
            (declared.get(name.lower()) or {}).get("description"),
        )
        for name in names
    ]


def _dbt_inputs(
    props: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    datasets: _Datasets,
) -> dict[DatasetId, str]:
    """Upstream datasets (with the node each one is); an ephemeral parent is replaced by its
    own parents."""
    out: dict[DatasetId, str] = {}
    stack = list(reversed((props.get("depends_on") or {}).get("nodes") or []))
    seen: set[str] = set()
    while stack:
        uid = stack.pop()
        if uid in seen or uid.split(".")[0] not in (*_DBT_RESOURCES, "source"):
            continue
        seen.add(uid)
        ds = datasets(uid)
        if ds is not None:
            out.setdefault(ds, uid)
        elif uid in nodes:
            stack.extend(reversed((nodes[uid].get("depends_on") or {}).get("nodes") or []))
    return out


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
    datasets = _Datasets(warehouse, nodes, graph)
    metadata = run_results.get("metadata") or {}
    dbt_version = (
        metadata.get("dbt_version")
        or (manifest_json.get("metadata") or {}).get("dbt_version")
        or "unknown"
    )
    invocation = str(metadata.get("invocation_id") or "")
    fallback_time = metadata.get("generated_at") or _iso(dt.datetime.now(dt.UTC))
    build = (run_results.get("args") or {}).get("which") == "build"
    assertions = dbt_test_assertions(manifest_json, run_results)
    root = Path(project_dir).absolute() if project_dir is not None else None

    pairs = []
    for result in run_results.get("results") or []:
        uid = str(result.get("unique_id", ""))
        kind = uid.split(".")[0]
        status = result.get("status")
        if kind not in _DBT_RESOURCES or status not in ("success", "error"):
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
        started_at, completed_at = map(_iso, _execute_timing(result, fallback_time))
        code_root = root or (Path(props["root_path"]) if props.get("root_path") else None)
        code = code_root / props["original_file_path"] if code_root else None
        columns = _dbt_columns(props, graph)
        column_names = [c[0] for c in columns]

        inputs = [
            InputDataset(
                namespace=ds.namespace,
                name=ds.name,
                facets={"schema": schema_facet(_dbt_columns(nodes[up], graph))},
            )
            for ds, up in _dbt_inputs(props, nodes, datasets).items()
        ]
        if kind == "seed" and code is not None:
            seed_file = file_dataset(code)
            inputs.append(InputDataset(namespace=seed_file.namespace, name=seed_file.name))
            lineage = _identity_lineage([seed_file], column_names, filtered=False)
        else:
            lineage = graph_column_lineage(graph, uid, datasets)

        facets: dict[str, Any] = {
            "schema": schema_facet(columns),
            **_datasource(output),
            "columnLineage": lineage,
            "tags": tags_facet(_column_tags(tags, uid), order=column_names),
            **_ownership(owner_of(props) if owner_of else _manifest_owner(props)),
            **_documentation(props.get("description")),
        }
        rows = (result.get("adapter_response") or {}).get("rows_affected")
        if not isinstance(rows, int) or rows < 0:
            rows = (row_counts or {}).get(uid)
        suffix = (_DBT_BUILD_SUFFIX if build else _DBT_SUFFIX)[kind]
        job = Job(
            namespace=namespace,
            name=f"{output.name.rsplit('.', 1)[0]}.{uid.split('.', 1)[1]}{suffix}",
            facets=_job_facets(
                integration="DBT",
                job_type=_DBT_JOB_TYPES[kind],
                sql=props.get("compiled_code") if kind != "seed" else None,
                code=code,
            ),
        )
        pairs.append(
            _events(
                job=job,
                run_id=_run_id(started_at, f"{invocation}:{uid}"),
                run_facets=_run_facets(
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
                        facets={**facets, **_assertions(assertions.get(uid, []))},
                        outputFacets=_statistics(rows),
                    )
                ],
                started_at=started_at,
                ended_at=completed_at,
                error=_dbt_error(result) if status == "error" else None,
                language="SQL",
            )
        )
    return _chronological(pairs)


def _dbt_error(result: Mapping[str, Any]) -> str:
    message = " ".join(str(result.get("message") or "").split())
    return message or "dbt reported an error without a message"


def _manifest_owner(props: Mapping[str, Any]) -> str | None:
    meta = {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}
    owner = meta.get("owner")
    return owner if isinstance(owner, str) else None


# -- Dagster: ingest and Python assets, the run itself ---------------------------------------


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
    started, ended = _iso(started_at), _iso(completed_at)
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
        **_datasource(raw),
        "columnLineage": _identity_lineage(
            file_ids, names, filtered=True, added=[c for c, _ in metadata_columns]
        ),
        "tags": tags_facet(
            {str(k).lower(): v for k, v in (tags or {}).items()},
            order=[c for c, _ in all_columns],
            source="DBT",
        ),
        **_ownership(owner),
        **_documentation(description),
    }
    start_outputs = [OutputDataset(raw.namespace, raw.name, facets=facets)]
    end_outputs = [
        OutputDataset(
            raw.namespace,
            raw.name,
            facets={**facets, **_assertions(assertions)},
            outputFacets=_statistics(rows_loaded),
        )
    ]
    if quarantine_table:
        q_schema, _, q_table = quarantine_table.rpartition(".")
        quarantine = duckdb_dataset(warehouse, q_schema, q_table)
        start_outputs.append(
            OutputDataset(quarantine.namespace, quarantine.name, facets=_datasource(quarantine))
        )
        end_outputs.append(
            OutputDataset(
                quarantine.namespace,
                quarantine.name,
                facets=_datasource(quarantine),
                outputFacets=_statistics(rows_quarantined),
            )
        )
    return _events(
        job=Job(
            namespace=namespace,
            name=job_name,
            facets=_job_facets(integration="DAGSTER", job_type="ASSET", code=code_path),
        ),
        run_id=run_id or _run_id(started, f"{parent.run_id if parent else ''}:{job_name}"),
        run_facets=_run_facets(
            parent=parent,
            engine="dagster",
            engine_version=_dagster_version(dagster_version),
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
    datasets = _Datasets(warehouse, nodes, graph)
    output = datasets(node_id)
    if output is None:
        raise LineageEventError(
            f"{node_id} has no relation (schema.table); declare where the asset is written"
        )
    started, ended = _iso(started_at), _iso(completed_at)
    types = {k.lower(): v for k, v in (column_types or {}).items()}
    inputs = []
    for up in node.depends_on:
        ds = datasets(up)
        if ds is not None:
            inputs.append(InputDataset(ds.namespace, ds.name))
    facets: dict[str, Any] = {
        "schema": schema_facet((c, types.get(c.lower()), None) for c in node.columns),
        **_datasource(output),
        "columnLineage": graph_column_lineage(graph, node_id, datasets),
        "tags": tags_facet(_column_tags(tags, node_id), order=list(node.columns), source="DAGSTER"),
        **_ownership(owner),
        **_documentation(description),
    }
    job_name = job_name or node.name
    return _events(
        job=Job(
            namespace=namespace,
            name=job_name,
            facets=_job_facets(integration="DAGSTER", job_type="ASSET", code=code_path),
        ),
        run_id=run_id or _run_id(started, f"{parent.run_id if parent else ''}:{job_name}"),
        run_facets=_run_facets(
            parent=parent,
            engine="dagster",
            engine_version=_dagster_version(dagster_version),
            nominal_time=nominal_time,
            verdict=verdict,
        ),
        inputs=inputs,
        start_outputs=[OutputDataset(output.namespace, output.name, facets=facets)],
        end_outputs=[
            OutputDataset(
                output.namespace,
                output.name,
                facets={**facets, **_assertions(assertions)},
                outputFacets=_statistics(row_count),
            )
        ],
        started_at=started,
        ended_at=ended,
        error=error,
        language="PYTHON",
    )


def dagster_run_event(
    parent: ParentRun,
    state: RunState,
    at: Timestamp,
    *,
    error: str | None = None,
    nominal_time: Timestamp | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
    dagster_version: str | None = None,
    code_path: str | Path | None = None,
) -> RunEvent:
    """An event of the Dagster run itself (job type JOB): the parent the other events name."""
    facets = _run_facets(
        parent=None,
        engine="dagster",
        engine_version=_dagster_version(dagster_version),
        nominal_time=nominal_time,
        verdict=verdict,
    )
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="PYTHON", **_P
        )
    return RunEvent(
        eventType=state,
        eventTime=_iso(at),
        run=Run(runId=parent.run_id, facets=facets),
        job=Job(
            namespace=parent.namespace,
            name=parent.job_name,
            facets=_job_facets(integration="DAGSTER", job_type="JOB", code=code_path),
        ),
        **_P,
    )
