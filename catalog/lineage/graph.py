"""The whole-project column graph: nodes (sources, seeds, models, snapshots, Python assets),
their columns, and DIRECT / INDIRECT edges in OpenLineage's terms.

An edge runs from an upstream column to either one column of a node (column-level: DIRECT
edges, and the column-specific INDIRECT subtypes CONDITIONAL and WINDOW) or to the whole node
(dataset-level: JOIN, FILTER, GROUP_BY, SORT shape every row of the result, so they reach every
column of it). Walks treat a dataset-level edge as an edge into each of the node's columns.

>>> src = ColumnRef("source.fjordbank.markets.securities_holdings", "market_value")
>>> g = ProjectGraph(
...     [Node("source.fjordbank.markets.securities_holdings", "securities_holdings", "source",
...           ("national_id", "market_value")),
...      Node("model.fjordbank.m", "m", "model", ("value",))],
...     [Edge(src, "model.fjordbank.m", "value", EdgeType.DIRECT, Subtype.AGGREGATION)])
>>> sorted(str(c) for c in g.upstream(ColumnRef("model.fjordbank.m", "value")))
['source.fjordbank.markets.securities_holdings.market_value']
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


class EdgeType(StrEnum):
    DIRECT = "DIRECT"
    INDIRECT = "INDIRECT"


class Subtype(StrEnum):
    # DIRECT
    IDENTITY = "IDENTITY"
    TRANSFORMATION = "TRANSFORMATION"
    AGGREGATION = "AGGREGATION"
    # INDIRECT
    JOIN = "JOIN"
    FILTER = "FILTER"
    GROUP_BY = "GROUP_BY"
    SORT = "SORT"
    WINDOW = "WINDOW"
    CONDITIONAL = "CONDITIONAL"

    @property
    def type(self) -> EdgeType:
        direct = {Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION}
        return EdgeType.DIRECT if self in direct else EdgeType.INDIRECT

    @property
    def dataset_level(self) -> bool:
        """Whether the dependency shapes the whole result rather than one column."""
        return self in {Subtype.JOIN, Subtype.FILTER, Subtype.GROUP_BY, Subtype.SORT}


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one node; ``node`` is the dbt unique_id, ``column`` lower case."""

    node: str
    column: str

    def __str__(self) -> str:
        return f"{self.node}.{self.column}"


@dataclass(frozen=True)
class Node:
    """A dataset of the project.

    ``unique_id`` follows dbt (``source.<project>.<source>.<table>``, ``model.<project>.<name>``,
    ``seed.<project>.<name>``, ``snapshot.<project>.<name>``); Python assets use
    ``asset.<project>.<name>``. ``relation`` is where it lives in the warehouse
    (``raw_markets.securities_holdings``); ``meta`` is the node-level ``config.meta``.
    """

    unique_id: str
    name: str
    resource_type: str
    columns: tuple[str, ...]
    relation: str | None = None
    sql: str | None = None
    materialized: str | None = None
    depends_on: tuple[str, ...] = ()
    path: str | None = None
    source_name: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Sources and seeds: where their columns came from (yaml, csv, file, catalog.json,
    # warehouse; see catalog.discovery).
    columns_from: str | None = None

    @property
    def label(self) -> str:
        """Human name: ``markets.securities_holdings`` for sources, the model name otherwise."""
        return f"{self.source_name}.{self.name}" if self.source_name else self.name


@dataclass(frozen=True)
class Edge:
    """``source`` influences ``target_node`` (``target_column`` None: dataset-level).

    ``restricts_rows`` is set on INDIRECT JOIN and FILTER edges whose condition every row of the
    output has passed, so it can remove any of them: WHERE, HAVING, QUALIFY, INNER / SEMI / ANTI
    joins, IN / EXISTS / NOT EXISTS subqueries. It is False for the ON columns of LEFT / RIGHT /
    FULL joins, which keep every row of the preserved side, and for a condition only one branch
    of a UNION applies, since the other branch's rows never meet it.

    ``masking`` is OpenLineage's: a hash is on the DIRECT path. ``keyed`` says the masking is
    a keyed hash (HMAC), i.e. pseudonymisation that cannot be undone without the key; a plain
    hash of a small value space (an 11-digit identity number) is undone by hashing every
    candidate, so the policy does not count it as hiding the value.
    """

    source: ColumnRef
    target_node: str
    target_column: str | None
    type: EdgeType
    subtype: Subtype
    masking: bool = False
    restricts_rows: bool = False
    keyed: bool = False

    @property
    def dataset_level(self) -> bool:
        return self.target_column is None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {"node": self.source.node, "column": self.source.column},
            "target": {"node": self.target_node, "column": self.target_column},
            "type": str(self.type),
            "subtype": str(self.subtype),
            "masking": self.masking,
            "keyed_hash": self.keyed,
            "restricts_rows": self.restricts_rows,
        }


# A step of a path: the column reached and the edge that led there.
Path = tuple[tuple[ColumnRef, Edge], ...]


class ProjectGraph:
    """Column graph of a whole project, indexed for walks in both directions."""

    def __init__(self, nodes: Iterable[Node], edges: Iterable[Edge], *, dialect: str = "duckdb"):
        self.dialect = dialect  # sqlglot dialect of the nodes' SQL
        self.nodes: dict[str, Node] = {n.unique_id: n for n in nodes}
        self.edges: tuple[Edge, ...] = tuple(dict.fromkeys(edges))
        self._into_column: dict[ColumnRef, list[Edge]] = defaultdict(list)
        self._into_node: dict[str, list[Edge]] = defaultdict(list)
        self._out_of: dict[ColumnRef, list[Edge]] = defaultdict(list)
        for e in self.edges:
            if e.target_node not in self.nodes:
                raise ValueError(f"edge into unknown node {e.target_node}")
            if e.target_column is None:
                self._into_node[e.target_node].append(e)
            else:
                self._into_column[ColumnRef(e.target_node, e.target_column)].append(e)
            self._out_of[e.source].append(e)
        self._parsed: dict[str, exp.Expression | SqlglotError | None] = {}

    # -- lookups ---------------------------------------------------------------------------
    def node(self, key: str) -> Node:
        """A node by unique_id, by model name, or by ``source_name.table``."""
        if key in self.nodes:
            return self.nodes[key]
        matches = [n for n in self.nodes.values() if key in (n.name, n.label)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"no node {key!r} in the lineage graph")
        ids = ", ".join(sorted(n.unique_id for n in matches))
        raise KeyError(f"{key!r} is ambiguous ({ids}); use the unique_id")

    def columns(self) -> Iterator[ColumnRef]:
        for n in self.nodes.values():
            for c in n.columns:
                yield ColumnRef(n.unique_id, c)

    def inputs(self, col: ColumnRef) -> list[Edge]:
        """Every edge into ``col``: its own plus the dataset-level edges of its node."""
        return [*self._into_column.get(col, ()), *self._into_node.get(col.node, ())]

    def outputs(self, col: ColumnRef) -> list[tuple[Edge, ColumnRef]]:
        """Every (edge, downstream column) out of ``col``, dataset-level edges expanded."""
        out: list[tuple[Edge, ColumnRef]] = []
        for e in self._out_of.get(col, ()):
            if e.target_column is not None:
                out.append((e, ColumnRef(e.target_node, e.target_column)))
            else:
                out.extend(
                    (e, ColumnRef(e.target_node, c)) for c in self.nodes[e.target_node].columns
                )
        return out

    def parsed(self, uid: str) -> exp.Expression | None:
        """The compiled SQL of node ``uid`` as ``sqlglot.parse_one`` reads it in the graph's
        dialect (neither normalised nor qualified, unlike the lineage engine's tree), parsed
        once per graph and shared by every reader (the policy's gate proof and objection rule,
        every evaluation on this graph): read it, never modify it. None when the node has no
        SQL; for SQL that does not parse, its ``SqlglotError`` is raised on every call."""
        if uid not in self._parsed:
            node = self.nodes.get(uid)
            sql = node.sql if node else None
            try:
                self._parsed[uid] = (
                    sqlglot.parse_one(sql, dialect=self.dialect) if sql and sql.strip() else None
                )
            except SqlglotError as e:
                self._parsed[uid] = e
        tree = self._parsed[uid]
        if isinstance(tree, SqlglotError):
            raise tree
        return tree

    # -- walks -----------------------------------------------------------------------------
    def upstream(
        self,
        col: ColumnRef,
        *,
        types: Iterable[EdgeType] = (EdgeType.DIRECT, EdgeType.INDIRECT),
        expand: Callable[[ColumnRef], bool] | None = None,
    ) -> dict[ColumnRef, Path]:
        """Every column ``col`` depends on, transitively, with one shortest path each.

        The path of a reached column lists the steps from it down to ``col``: each step is
        the column reached and the edge taken. ``expand(c)`` False stops the walk at ``c``
        (it is reported, its inputs are not followed): the policy uses it to stop at gates.
        """
        allowed = set(types)
        seen: dict[ColumnRef, Path] = {}
        queue: deque[tuple[ColumnRef, Path]] = deque([(col, ())])
        while queue:
            cur, path = queue.popleft()
            if cur != col and expand is not None and not expand(cur):
                continue
            for e in self.inputs(cur):
                if e.type not in allowed or e.source in seen or e.source == col:
                    continue
                p: Path = ((cur, e), *path)
                seen[e.source] = p
                queue.append((e.source, p))
        return seen

    def downstream(
        self,
        col: ColumnRef,
        *,
        types: Iterable[EdgeType] = (EdgeType.DIRECT, EdgeType.INDIRECT),
        expand: Callable[[ColumnRef], bool] | None = None,
    ) -> dict[ColumnRef, Path]:
        """Every column that depends on ``col``, transitively, with one shortest path each.

        The path lists the steps from ``col`` to the reached column: (column reached, edge).
        """
        allowed = set(types)
        seen: dict[ColumnRef, Path] = {}
        queue: deque[tuple[ColumnRef, Path]] = deque([(col, ())])
        while queue:
            cur, path = queue.popleft()
            if cur != col and expand is not None and not expand(cur):
                continue
            for e, target in self.outputs(cur):
                if e.type not in allowed or target in seen or target == col:
                    continue
                p: Path = (*path, (target, e))
                seen[target] = p
                queue.append((target, p))
        return seen

    # -- serialisation ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {
                    "unique_id": n.unique_id,
                    "name": n.name,
                    "resource_type": n.resource_type,
                    "relation": n.relation,
                    "columns": list(n.columns),
                    "materialized": n.materialized,
                    "depends_on": list(n.depends_on),
                    "path": n.path,
                    **({"columns_from": n.columns_from} if n.columns_from else {}),
                }
                for n in self.nodes.values()
            ],
            "edges": [e.to_json() for e in self.edges],
        }
