"""What the events call things: the producer, the job namespace and the datasets.

OpenLineage's naming conventions (https://openlineage.io/docs/spec/naming):

- warehouse tables: namespace ``duckdb://<absolute path of the DuckDB file>``, name
  ``<database>.<schema>.<table>`` with the DuckDB catalog (the file's stem) as database, as
  openlineage-dbt names dbt-duckdb relations;
- landing files: ``openlineage.client.naming.dataset.LocalFileSystem``: namespace ``file``,
  name the absolute path.

>>> duckdb_dataset("/data/wh.duckdb", "marketing", "scores")
DatasetId(namespace='duckdb:///data/wh.duckdb', name='wh.marketing.scores')
>>> file_dataset("/landing/bank/customers.csv").namespace
'file'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from openlineage.client.naming.dataset import LocalFileSystem

from catalog.lineage.graph import ProjectGraph
from catalog.openlineage.errors import LineageEventError

__all__ = [
    "DEFAULT_JOB_NAMESPACE",
    "PRODUCER",
    "PRODUCER_FIELD",
    "DatasetId",
    "Datasets",
    "duckdb_dataset",
    "duckdb_namespace",
    "file_dataset",
]

PRODUCER = "https://fjordbank.example/platform/catalog"
# Every event and facet names its producer: spread as ``**PRODUCER_FIELD``.
PRODUCER_FIELD: dict[str, str] = {"producer": PRODUCER}
DEFAULT_JOB_NAMESPACE = "fjordbank"


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


class Datasets:
    """Where each node of the project lives: manifest relations first, then the graph's.

    Called with a node's unique id: its :class:`DatasetId`, or None for a node that writes
    nothing (an ephemeral model, a node without a relation)."""

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
