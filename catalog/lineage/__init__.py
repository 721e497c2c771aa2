"""Column lineage from dbt's compiled SQL, DIRECT and INDIRECT, in OpenLineage's terms.

- :func:`query_lineage` / :func:`column_lineage_facet`: one query against a schema mapping.
- :func:`build_project_graph`: the column graph of a whole dbt project (a :class:`ProjectGraph`).
"""

from catalog.lineage.errors import LineageError
from catalog.lineage.facet import column_lineage_facet, to_facet
from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph, Subtype
from catalog.lineage.project import build_project_graph
from catalog.lineage.query import Dependency, QueryLineage, Tables, query_lineage

__all__ = [
    "ColumnRef",
    "Dependency",
    "Edge",
    "EdgeType",
    "LineageError",
    "Node",
    "ProjectGraph",
    "QueryLineage",
    "Subtype",
    "Tables",
    "build_project_graph",
    "column_lineage_facet",
    "query_lineage",
    "to_facet",
]
