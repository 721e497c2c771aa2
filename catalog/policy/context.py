"""What the rules read: the lineage graph, the resolved tags, the policy configuration and the
taxonomy, indexed once per evaluation (``Context``; ``build_context`` with the defaults).

Columns and edges are indexed by integer: column ``i`` is column ``col_name[i]`` of node
``col_node[i]``; edge ``ei`` is ``edges[ei]``, from column ``e_src[ei]``. Edges are listed into
each column and node (all of them, the dataset-level ones, those that restrict rows, the DIRECT
ones, those from a column the graph does not know), nodes by lineage (``parents``,
``children``) and in dependency order (``order``, ``rank``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any
from weakref import WeakKeyDictionary

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph
from catalog.policy.config import PolicyConfig, PolicyConfigError, load_policy_config
from catalog.policy.result import PolicyError
from catalog.tags import ColumnTags, ProjectTags
from catalog.taxonomy import Taxonomy, covered_by_set, load_taxonomy

_NO_COLUMNS: Mapping[str, Any] = {}


class Context:
    """The graph, tags, configuration and taxonomy, indexed once for every rule: columns and
    edges by integer, edges into each column and node, dependency order."""

    def __init__(
        self, graph: ProjectGraph, tags: ProjectTags, config: PolicyConfig, taxonomy: Taxonomy
    ):
        self.graph = graph
        self.tags = tags
        self.config = config
        self.taxonomy = taxonomy
        # Column i is column col_name[i] of node col_node[i], with resolved tags col_tags[i]
        # (None: the YAML does not declare it); its ColumnRef is made on demand (``ref``): most
        # columns never need one, and building them all costs more than a rule.
        self.col_node: list[str] = []
        self.col_name: list[str] = []
        self.col_tags: list[ColumnTags | None] = []
        self.node_cols: dict[str, range] = {}
        # node -> column -> index: plain str keys hash in C, ColumnRef's hash is Python code.
        self.index: dict[str, dict[str, int]] = {}
        for uid, node in graph.nodes.items():
            first = len(self.col_name)
            by_name = self.index[uid] = {}
            for c in node.columns:
                if c not in by_name:  # a name twice is one column
                    by_name[c] = first + len(by_name)
            self.node_cols[uid] = range(first, first + len(by_name))
            self.col_node += [uid] * len(by_name)
            self.col_name += by_name
            nt = tags.get(uid)
            # tags are keyed by lower-case name; a column keeps the database's case
            self.col_tags += map((nt.columns if nt else _NO_COLUMNS).get, map(str.lower, by_name))
        n = len(self.col_name)
        self._refs: list[ColumnRef | None] = [None] * n
        index = self.index
        self.edges: tuple[Edge, ...] = graph.edges
        self.e_src: list[int] = []  # the column each edge comes from (-1: one it does not know)
        self.col_in: list[list[int]] = [[] for _ in range(n)]
        # Edges into each node: all of them, the dataset-level ones, those that restrict its
        # rows, the DIRECT ones, and those from a column the graph does not know.
        self.all_in: dict[str, list[int]] = {uid: [] for uid in graph.nodes}
        self.node_in: dict[str, list[int]] = {uid: [] for uid in graph.nodes}
        self.rows_in: dict[str, list[int]] = {uid: [] for uid in graph.nodes}
        self.direct_in: dict[str, list[int]] = {uid: [] for uid in graph.nodes}
        self.unknown_in: dict[str, list[int]] = {uid: [] for uid in graph.nodes}
        # Lineage between nodes: the nodes each one reads from, and is read by.
        deps: dict[str, set[str]] = {uid: set() for uid in graph.nodes}
        self.children: dict[str, list[str]] = {uid: [] for uid in graph.nodes}
        e_src, col_in, children = self.e_src, self.col_in, self.children
        target = None
        for ei, e in enumerate(self.edges):
            source = e.source
            src_node = source.node
            si = index.get(src_node, _NO_COLUMNS).get(source.column, -1)
            e_src.append(si)
            if e.target_node is not target:  # a node's edges mostly come together
                target = e.target_node
                columns, parents = index[target], deps[target]
                into, whole, rows, direct, unknown = (
                    self.all_in[target], self.node_in[target], self.rows_in[target],
                    self.direct_in[target], self.unknown_in[target],
                )  # fmt: skip
            into.append(ei)
            if e.target_column is None:
                whole.append(ei)
            else:
                ti = columns.get(e.target_column, -1)
                if ti >= 0:
                    col_in[ti].append(ei)
            if e.restricts_rows:
                rows.append(ei)
            if e.type == EdgeType.DIRECT:
                direct.append(ei)
            if si < 0:
                unknown.append(ei)
            elif src_node not in parents and src_node != target:
                parents.add(src_node)
                children[src_node].append(target)
        # Nodes another node reads from: by lineage from a known column (they have children),
        # from a column the graph does not know, or by dbt dependency.
        self.consumed: set[str] = {uid for uid, readers in children.items() if readers}
        self.consumed.update(
            src
            for reader, ids in self.unknown_in.items()
            for ei in ids
            if (src := self.edges[ei].source.node) != reader
        )
        self.consumed.update(
            d for node in graph.nodes.values() for d in node.depends_on if d != node.unique_id
        )
        self.parents: dict[str, set[str]] = deps
        self.order: list[str] = _dependency_order(deps, self.children)
        self.rank = {uid: r for r, uid in enumerate(self.order)}
        self._outputs: dict[str, bool] = {}
        self._path_patterns: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._index: tuple[dict[str, list[int]], dict[tuple[str, ...], list[int]]] | None = None
        self._rule_sets: dict[tuple[str, ...], frozenset[str]] = {}
        # Weakly keyed: a rule's edge test that closes over the context must not keep it (and
        # the tags) alive in a reference cycle, for the collector to find.
        self._masks: WeakKeyDictionary[Callable[[Edge], bool], list[bool | None]]
        self._masks = WeakKeyDictionary()

    # -- columns -------------------------------------------------------------------------------
    def ref(self, i: int) -> ColumnRef:
        """The ColumnRef of column ``i``."""
        r = self._refs[i]
        if r is None:
            r = self._refs[i] = ColumnRef(self.col_node[i], self.col_name[i])
        return r

    def id_of(self, col: ColumnRef) -> int:
        """The index of ``col`` (-1: not a column of the graph)."""
        return self.index.get(col.node, _NO_COLUMNS).get(col.column, -1)

    def ids(self, cols: Iterable[ColumnRef]) -> set[int]:
        """The indexes of those of ``cols`` the graph knows."""
        return {i for c in cols if (i := self.id_of(c)) >= 0}

    # -- nodes and tags ----------------------------------------------------------------------
    def node(self, uid: str) -> Node | None:
        return self.graph.nodes.get(uid)

    def name(self, uid: str) -> str:
        n = self.graph.nodes.get(uid)
        return n.label if n else uid

    def label(self, col: ColumnRef) -> str:
        """``markets.securities_holdings.market_value`` / ``model_name.column``."""
        return f"{self.name(col.node)}.{col.column}"

    def column_tags(self, col: ColumnRef) -> ColumnTags | None:
        i = self.id_of(col)
        return self.tags_at(i) if i >= 0 else self.tags.column(col)

    def tags_at(self, i: int) -> ColumnTags | None:
        """The resolved tags of column ``i`` (None: the YAML does not declare it)."""
        return self.col_tags[i]

    def categories(self, col: ColumnRef) -> tuple[str, ...]:
        t = self.column_tags(col)
        return t.categories if t else ()

    def categories_at(self, i: int) -> tuple[str, ...]:
        t = self.tags_at(i)
        return t.categories if t else ()

    def covered(self, key: str, rule_keys: tuple[str, ...]) -> bool:
        """``covered_by_any``, by looking ``key`` and its ancestors up in the rule keys (as a
        set, made once per evaluation)."""
        rules = self._rule_sets.get(rule_keys)
        if rules is None:
            rules = self._rule_sets[rule_keys] = frozenset(rule_keys)
        return covered_by_set(key, rules)

    def column_purposes(self, col: ColumnRef) -> tuple[str, ...]:
        t = self.column_tags(col)
        if t and t.purposes:
            return t.purposes
        nt = self.tags.get(col.node)
        return nt.purposes if nt else ()

    def purposes(self, uid: str) -> frozenset[str]:
        return self.tags.purposes(uid)

    def has_purpose(self, uid: str, key: str) -> bool:
        return any(self.covered(p, (key,)) for p in self.purposes(uid))

    def consent_gates(self, uid: str) -> tuple[str, ...]:
        nt = self.tags.get(uid)
        return nt.consent_gate if nt else ()

    def in_paths(self, uid: str, paths: Iterable[str]) -> bool:
        """Whether the node's file lies under one of ``paths`` (dbt paths, any prefix)."""
        n = self.graph.nodes.get(uid)
        if n is None or not n.path:
            return False
        key = paths if isinstance(paths, tuple) else tuple(paths)
        patterns = self._path_patterns.get(key)
        if patterns is None:
            patterns = self._path_patterns[key] = tuple(f"/{q.strip('/')}/" for q in key)
        p = "/" + n.path.replace("\\", "/").strip("/") + "/"
        return any(q in p for q in patterns)

    def is_output(self, uid: str) -> bool:
        """Python assets, and models / snapshots that are in the output paths (the marts) or
        that nothing consumes; never a node under the excluded paths (staging)."""
        if uid not in self._outputs:
            n = self.graph.nodes.get(uid)
            cfg = self.config
            self._outputs[uid] = bool(
                n is not None
                and n.resource_type in cfg.output_resource_types
                and not self.in_paths(uid, cfg.output_exclude_paths)
                and (
                    n.resource_type == "asset"
                    or uid not in self.consumed
                    or self.in_paths(uid, cfg.output_paths)
                )
            )
        return self._outputs[uid]

    def outputs_with_purpose(self, key: str) -> list[str]:
        return [u for u in self.order if self.is_output(u) and self.has_purpose(u, key)]

    # -- configuration references -------------------------------------------------------------
    def source_nodes(self, spec: str, where: str) -> list[str]:
        """Source tables named ``source_name`` or ``source_name.table``."""
        found = [
            n.unique_id
            for n in self.graph.nodes.values()
            if n.resource_type == "source" and spec in (n.source_name, n.label)
        ]
        if not found:
            raise PolicyConfigError(
                f"policy configuration `{where}` names source {spec!r}, which is not in the "
                "project; fix the name in catalog/policy.yml"
            )
        return found

    def source_column(self, spec: str, where: str) -> ColumnRef:
        table, _, column = spec.rpartition(".")
        ids = self.source_nodes(table, where) if table else []
        for uid in ids:
            for name in self.graph.nodes[uid].columns:  # names resolve case-insensitively
                if name.lower() == column.lower():
                    return ColumnRef(uid, name)
        raise PolicyConfigError(
            f"policy configuration `{where}` names column {spec!r}, which is not in the project; "
            "fix it in catalog/policy.yml"
        )

    def origins(
        self,
        *,
        categories: Iterable[str] = (),
        sources: Iterable[str] = (),
        purposes: Iterable[str] = (),
        entry_only: bool,
        where: str,
    ) -> set[ColumnRef]:
        """Columns where restricted data starts (see ``origin_ids``)."""
        ids = self.origin_ids(
            categories=categories,
            sources=sources,
            purposes=purposes,
            entry_only=entry_only,
            where=where,
        )
        return {self.ref(i) for i in ids}

    def origin_ids(
        self,
        *,
        categories: Iterable[str] = (),
        sources: Iterable[str] = (),
        purposes: Iterable[str] = (),
        entry_only: bool,
        where: str,
    ) -> set[int]:
        """Columns where restricted data starts, by index: tagged with one of ``categories``
        (or whose purposes all fall under ``purposes``), and every column of the ``sources``
        tables. ``entry_only`` keeps only the tagged columns no edge leads into (where data
        enters the project)."""
        categories, purposes = tuple(categories), tuple(purposes)
        out: set[int] = set()
        for spec in sources:
            for uid in self.source_nodes(spec, where):
                out.update(self.node_cols[uid])
        if not (categories or purposes):
            return out
        by_category, by_purposes = self._column_index()
        ids: set[int] = set()
        for cat, cols in by_category.items():
            if self.covered(cat, categories):
                ids.update(cols)
        if purposes:
            for ps, cols in by_purposes.items():
                if ps and all(self.covered(p, purposes) for p in ps):
                    ids.update(cols)
        out.update(i for i in ids if not entry_only or self.is_entry(i))
        return out

    def _column_index(self) -> tuple[dict[str, list[int]], dict[tuple[str, ...], list[int]]]:
        """Column indexes by category and by purposes (a project has few distinct ones)."""
        if self._index is None:
            by_category: dict[str, list[int]] = defaultdict(list)
            by_purposes: dict[tuple[str, ...], list[int]] = defaultdict(list)
            col_tags = self.col_tags
            for uid, ids in self.node_cols.items():
                nt = self.tags.get(uid)
                node_purposes = nt.purposes if nt else ()
                for i in ids:
                    t = col_tags[i]
                    if t is None:
                        by_purposes[node_purposes].append(i)
                        continue
                    for cat in t.categories:
                        by_category[cat].append(i)
                    by_purposes[t.purposes or node_purposes].append(i)
            self._index = (by_category, by_purposes)
        return self._index

    # -- edges ---------------------------------------------------------------------------------
    def column_inputs(self, col: ColumnRef) -> list[Edge]:
        """The column-level edges into ``col`` (not the dataset-level ones of its node)."""
        i = self.id_of(col)
        return [self.edges[ei] for ei in self.col_in[i]] if i >= 0 else []

    def edges_into(self, uid: str) -> list[Edge]:
        return [self.edges[ei] for ei in self.all_in.get(uid, ())]

    def edge_mask(self, edge_ok: Callable[[Edge], bool]) -> list[bool | None]:
        """``edge_ok`` per edge index, filled in lazily (None: not asked yet), kept for the
        evaluation: rules that walk with the same edge test ask each edge once."""
        mask = self._masks.get(edge_ok)
        if mask is None:
            mask = self._masks[edge_ok] = [None] * len(self.edges)
        return mask

    def is_entry(self, i: int) -> bool:
        """No edge leads into column ``i``: data enters the project here."""
        return not self.col_in[i] and not self.node_in.get(self.col_node[i])


def _dependency_order(deps: Mapping[str, set[str]], children: Mapping[str, list[str]]) -> list[str]:
    """Every node of ``deps`` (node -> the nodes it reads) after those it reads (Kahn's
    algorithm: the nodes that read nothing first, in ``deps`` order, then each node once the
    last it reads is placed). PolicyError names a cycle."""
    waiting = {uid: len(parents) for uid, parents in deps.items()}
    order = [uid for uid, n in waiting.items() if n == 0]
    for uid in order:  # grows while it is walked
        for child in children.get(uid, ()):
            waiting[child] -= 1
            if not waiting[child]:
                order.append(child)
    if len(order) < len(waiting):  # some nodes wait for each other: graphlib names the cycle
        cycle = ""
        try:
            TopologicalSorter(deps).prepare()
        except CycleError as exc:
            cycle = " (" + " -> ".join(str(n) for n in exc.args[1]) + ")"
        raise PolicyError(f"the lineage graph has a cycle{cycle}; the policy needs a DAG")
    return order


def build_context(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    taxonomy: Taxonomy | None = None,
) -> Context:
    """The context of one evaluation; the taxonomy and the policy configuration default to the
    project's (``catalog/taxonomy.yml``, ``catalog/policy.yml``)."""
    taxonomy = taxonomy or load_taxonomy()
    return Context(graph, tags, config or load_policy_config(taxonomy=taxonomy), taxonomy)
