"""OpenLineage run events for everything the platform materialises, built from the catalog.

Pure functions from the project's column graph, dbt's artifacts, the resolved privacy tags and
the outcome of a run to ``openlineage.client.event_v2.RunEvent`` objects (openlineage-python's
generated classes, never hand-built JSON). Sending them is ``dagster_project.openlineage``'s job.

- :func:`dbt_run_events` (``dbt_run.py``): START, then COMPLETE or FAIL, per model, seed and
  snapshot a ``dbt build`` executed (from ``manifest.json`` and ``run_results.json``); the
  assertions of its tests come from :func:`dbt_test_assertions` (``dbt_tests.py``), what a
  manifest node says from ``dbt_nodes.py``.
- :func:`ingest_events` (``ingest_run.py``): one landing table loaded from its delivery files.
- :func:`asset_events` (``asset_run.py``): a Python asset of the graph (``asset.<project>.<name>``).
- :func:`dagster_run_event` (``dagster_run.py``): the Dagster run itself, the parent of all of the
  above (:class:`ParentRun`, ``parent.py``).

Every output dataset carries ``schema``, ``columnLineage`` (``column_lineage.py``: the graph's
DIRECT / INDIRECT edges into it, dataset-level edges in the facet's ``dataset`` list), ``tags``
(``privacy_tags.py``: one entry per column and privacy tag), ``ownership`` and
``documentation``; on COMPLETE also ``dataQualityAssertions`` (the checks run on it) and
``outputStatistics`` when the row count is known (``dataset_facets.py``); every job ``jobType``
and ``sourceCodeLocation`` (``sql`` for SQL models); every run ``parent``,
``processing_engine``, ``nominalTime`` for scheduled runs (``run_facets.py``) and the policy
verdict as the custom facet ``fjordbank_policyVerdict`` (``verdict.py``, schema shipped in
``catalog/schemas``). A run's START / COMPLETE or FAIL pair and its stable id are built in
``run_events.py``; times in ``timestamps.py``.

Naming (``naming.py``, OpenLineage's naming conventions, https://openlineage.io/docs/spec/naming):

- warehouse tables: namespace ``duckdb://<absolute path of the DuckDB file>``, name
  ``<database>.<schema>.<table>`` with the DuckDB catalog (the file's stem) as database, as
  openlineage-dbt names dbt-duckdb relations;
- landing files: ``openlineage.client.naming.dataset.LocalFileSystem``: namespace ``file``,
  name the absolute path;
- dbt jobs as openlineage-dbt: ``<database>.<schema>.<package>.<model>`` plus ``.build.run``
  (``.build.snapshot``, ``.build.seed``) under ``dbt build``; Dagster assets: the asset key
  joined with ``.`` (``raw_bank.customers``).

>>> from catalog.lineage.graph import Node, ProjectGraph
>>> g = ProjectGraph([Node("asset.p.scores", "scores", "asset", ("score",),
...                        relation="marketing.scores")], [])
>>> parent = ParentRun("0191e4a4-0000-7000-8000-000000000001", "build_everything", "fjordbank")
>>> start, end = asset_events("asset.p.scores", g, {}, parent=parent, namespace="fjordbank",
...     warehouse="/data/wh.duckdb", started_at="2026-01-05T05:00:00+00:00",
...     completed_at="2026-01-05T05:00:03+00:00", dagster_version="1.13.0")
>>> start.eventType.value, end.eventType.value, end.outputs[0].name
('START', 'COMPLETE', 'wh.marketing.scores')
"""

from catalog.openlineage.asset_run import asset_events
from catalog.openlineage.column_lineage import graph_column_lineage
from catalog.openlineage.dagster_run import dagster_run_event
from catalog.openlineage.dataset_facets import Assertion, schema_facet
from catalog.openlineage.dbt_run import dbt_run_events
from catalog.openlineage.dbt_tests import dbt_test_assertions
from catalog.openlineage.errors import LineageEventError
from catalog.openlineage.ingest_run import ingest_events
from catalog.openlineage.naming import (
    DEFAULT_JOB_NAMESPACE,
    PRODUCER,
    DatasetId,
    duckdb_dataset,
    duckdb_namespace,
    file_dataset,
)
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.privacy_tags import PRIVACY_TAG_KEYS, privacy_tag_values, tags_facet
from catalog.openlineage.verdict import (
    POLICY_VERDICT_FACET,
    POLICY_VERDICT_SCHEMA_URL,
    PolicyRuleResult,
    PolicyVerdictRunFacet,
    policy_verdict_facet,
    policy_verdict_schema,
)

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
