"""What the rules share: violations, the evaluation context and restriction propagation.

A *flow* propagates restrictions from origin columns downstream over the edges a rule accepts,
node by node in dependency order, and records for every reached column the root origins that
reach it and one shortest chain back to one of them. Nodes a rule clears (proven consent gates)
stop the flow. One pass visits only what restricted data reaches, each edge once, whatever the
number of origins; columns and edges are indexed by integer once per evaluation.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any
from weakref import WeakKeyDictionary

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph, Subtype
from catalog.policy.config import PolicyConfig, PolicyConfigError
from catalog.tags import ColumnTags, ProjectTags
from catalog.taxonomy import Taxonomy, covered_by_set


class PolicyError(Exception):
    """The policy could not be evaluated on this graph (exit 2): one line, what to do."""


@dataclass(frozen=True)
class Violation:
    """One broken guarantee.

    ``model`` is the dbt name of the node at fault (``source.table`` for sources), ``column``
    the column (None for a node-level violation), ``sources`` the restricted source columns
    involved (``source_name.table.column``), ``path`` the chain of model columns between them.
    """

    rule: str
    model: str
    column: str | None
    message: str
    sources: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    node_id: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "model": self.model,
            "column": self.column,
            "sources": list(self.sources),
            "path": list(self.path),
            "message": self.message,
        }

    def to_text(self) -> str:
        where = f"{self.model}.{self.column}" if self.column else self.model
        return f"[{self.rule}] {where}: {self.message}"


@dataclass(frozen=True)
class PolicyResult:
    violations: tuple[Violation, ...]
    models_checked: int
    columns_checked: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = defaultdict(list)
        for v in self.violations:
            out[v.rule].append(v)
        return dict(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "violations": [v.to_json() for v in self.violations],
            "models_checked": self.models_checked,
            "columns_checked": self.columns_checked,
        }


def value_edge(e: Edge) -> bool:
    """Edges that carry the value of their source: DIRECT ones and CASE conditions on it."""
    return not e.dataset_level and (e.type == EdgeType.DIRECT or e.subtype == Subtype.CONDITIONAL)


def any_edge(e: Edge) -> bool:
    return True


class Flow:
    """Result of one propagation, by column index: reached columns, their root origins, and
    one chain back to a root (the shortest, then the one with fewest dataset-level hops)."""

    def __init__(self, ctx: Context):
        n = len(ctx.col_name)
        self.ctx = ctx
        self.src: list[frozenset[int] | None] = [None] * n
        self.pred: list[int] = [-1] * n  # edge index that led here
        self.cost: list[tuple[int, int]] = [(0, 0)] * n
        self.cleared: set[str] = set()

    def has(self, i: int) -> bool:
        return i >= 0 and self.src[i] is not None

    def reached_in(self, uid: str) -> list[ColumnRef]:
        """The columns of node ``uid`` restricted data reaches, in column order."""
        ref, src = self.ctx.ref, self.src
        return [ref(i) for i in self.ctx.node_cols.get(uid, ()) if src[i] is not None]

    def __contains__(self, col: object) -> bool:
        return isinstance(col, ColumnRef) and self.has(self.ctx.id_of(col))

    def roots(self, col: ColumnRef) -> list[ColumnRef]:
        """The root origins that reach ``col`` (empty when it is not reached)."""
        i = self.ctx.id_of(col)
        s = self.src[i] if i >= 0 else None
        return sorted(self.ctx.ref(j) for j in s or ())

    def chain(self, col: ColumnRef) -> list[tuple[ColumnRef, Edge | None]]:
        """(column, edge that led there) from a root origin down to ``col``."""
        ctx = self.ctx
        i = ctx.id_of(col)
        if i < 0:
            raise KeyError(col)
        out: list[tuple[ColumnRef, Edge | None]] = []
        seen: set[int] = set()
        while i >= 0 and i not in seen:
            seen.add(i)
            ei = self.pred[i]
            out.append((ctx.ref(i), ctx.edges[ei] if ei >= 0 else None))
            i = ctx.e_src[ei] if ei >= 0 else -1
        return out[::-1]


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
            self.col_tags += map((nt.columns if nt else _NO_COLUMNS).get, by_name)
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

    def purposes_at(self, i: int) -> tuple[str, ...]:
        """``column_purposes`` of column ``i``."""
        t = self.tags_at(i)
        if t and t.purposes:
            return t.purposes
        nt = self.tags.get(self.col_node[i])
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
            if column.lower() in self.graph.nodes[uid].columns:
                return ColumnRef(uid, column.lower())
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

    def inputs(self, col: ColumnRef) -> list[Edge]:
        """Every edge into ``col``: its own and the dataset-level ones of its node."""
        dataset = (self.edges[ei] for ei in self.node_in.get(col.node, ()))
        return [*self.column_inputs(col), *dataset]

    def edges_into(self, uid: str) -> list[Edge]:
        return [self.edges[ei] for ei in self.all_in.get(uid, ())]

    def _mask(self, edge_ok: Callable[[Edge], bool]) -> list[bool | None]:
        """``edge_ok`` per edge index, filled in lazily (None: not asked yet)."""
        mask = self._masks.get(edge_ok)
        if mask is None:
            mask = self._masks[edge_ok] = [None] * len(self.edges)
        return mask

    def upstream(self, col: ColumnRef) -> dict[int, tuple[int, int]]:
        """Every column ``col`` depends on over any edge, breadth first (nearest first): column
        index -> (edge index, index of the column one step nearer to ``col``); ``col`` itself
        maps to (-1, -1)."""
        start = self.id_of(col)
        if start < 0:
            raise KeyError(col)
        seen = {start: (-1, -1)}
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for ei in (*self.col_in[i], *self.node_in.get(self.col_node[i], ())):
                si = self.e_src[ei]
                if si >= 0 and si not in seen:
                    seen[si] = (ei, i)
                    queue.append(si)
        return seen

    def ancestors(self, uids: Iterable[str]) -> set[str]:
        """``uids`` and every node they depend on by lineage."""
        return _closure(uids, self.parents)

    def descendants(self, uids: Iterable[str]) -> set[str]:
        """``uids`` and every node that depends on them by lineage."""
        return _closure(uids, self.children)

    def is_entry(self, i: int) -> bool:
        """No edge leads into column ``i``: data enters the project here."""
        return not self.col_in[i] and not self.node_in.get(self.col_node[i])

    # -- propagation ---------------------------------------------------------------------------
    def propagate(
        self,
        origins: Iterable[ColumnRef],
        *,
        edge_ok: Callable[[Edge], bool] = any_edge,
        clear: Callable[[str, Flow, Mapping[int, frozenset[int]]], bool] | None = None,
        within: set[str] | None = None,
    ) -> Flow:
        """``propagate_ids`` from the ``origins`` columns the graph knows."""
        return self.propagate_ids(self.ids(origins), edge_ok=edge_ok, clear=clear, within=within)

    def propagate_ids(
        self,
        origin_ids: set[int],
        *,
        edge_ok: Callable[[Edge], bool] = any_edge,
        clear: Callable[[str, Flow, Mapping[int, frozenset[int]]], bool] | None = None,
        within: set[str] | None = None,
    ) -> Flow:
        """Propagate from the columns ``origin_ids`` downstream over the edges ``edge_ok``
        accepts.

        Only nodes restricted data reaches are visited, in dependency order. ``clear(node,
        flow, pending)`` is asked for each of them (``flow`` is final upstream of it,
        ``pending`` maps the node's reached column indexes to their root indexes); True
        clears the node: its columns carry nothing further. ``within`` limits the walk to
        those nodes (a rule that judges only a few nodes passes their ancestors)."""
        flow = Flow(self)
        mask = self._mask(edge_ok)
        src, pred, cost = flow.src, flow.pred, flow.cost
        e_src, col_in, node_in, children = self.e_src, self.col_in, self.node_in, self.children
        edges = self.edges
        rank = self.rank
        queue: list[tuple[int, str]] = []
        queued: set[str] = set()

        def enqueue(uid: str) -> None:
            if uid not in queued and uid in rank and (within is None or uid in within):
                queued.add(uid)
                heapq.heappush(queue, (rank[uid], uid))

        Best = tuple[tuple[int, int], int] | None

        def gather(
            ids: Iterable[int], acc: frozenset[int] | None, best: Best, ds_step: int
        ) -> tuple[frozenset[int] | None, Best]:
            """Fold the accepted edges ``ids`` from reached columns into (roots, cheapest
            (cost, edge)); a dataset-level step costs one more dataset-level hop."""
            for ei in ids:
                si = e_src[ei]
                if si < 0:
                    continue
                s = src[si]
                if s is None:
                    continue
                ok = mask[ei]
                if ok is None:
                    ok = mask[ei] = edge_ok(edges[ei])
                if not ok:
                    continue
                acc = s if acc is None else acc | s
                hops, ds_hops = cost[si]
                c = (hops + 1, ds_hops + ds_step)
                if best is None or c < best[0]:
                    best = (c, ei)
            return acc, best

        for i in origin_ids:
            enqueue(self.col_node[i])
        while queue:
            _, uid = heapq.heappop(queue)
            ds_src, ds_best = gather(node_in.get(uid, ()), None, None, 1)
            reached: dict[int, tuple[frozenset[int] | None, tuple[tuple[int, int], int] | None]]
            reached = {}
            for ci in self.node_cols[uid]:
                acc, best = gather(col_in[ci], ds_src, ds_best, 0)
                if acc or ci in origin_ids:
                    reached[ci] = (acc, best)
            if not reached:
                continue
            if clear is not None:
                pending = {ci: acc or frozenset({ci}) for ci, (acc, _) in reached.items()}
                if clear(uid, flow, pending):
                    flow.cleared.add(uid)
                    continue
            for ci, (acc, best) in reached.items():
                if acc:
                    assert best is not None
                    src[ci] = acc
                    cost[ci], pred[ci] = best
                else:  # an origin nothing restricted flows into: a root
                    src[ci] = frozenset((ci,))
            # The nodes reading this one: those restricted data does not reach find nothing.
            for child in children.get(uid, ()):
                if child not in queued:
                    enqueue(child)
        return flow


def _closure(start: Iterable[str], step: Mapping[str, Iterable[str]]) -> set[str]:
    """``start`` and every node reached from it over ``step``, breadth first."""
    seen = set(start)
    queue = deque(seen)
    while queue:
        for nxt in step.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


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


def restricted_sources(ctx: Context, flow: Flow, col: ColumnRef) -> tuple[str, ...]:
    """The root origins reaching ``col``, as ``source.table.column``. Technical columns (load
    bookkeeping, category ``system``) are left out when data columns are involved too."""
    roots = flow.roots(col)
    data = [
        s for s in roots if not all(c.startswith("system") for c in ctx.categories(s) or ("?",))
    ]
    return tuple(sorted(ctx.label(s) for s in data or roots))


def path_between(ctx: Context, flow: Flow, col: ColumnRef) -> tuple[str, ...]:
    """The model columns strictly between the root origin and ``col`` on the chain kept."""
    chain = flow.chain(col)
    return tuple(ctx.label(c) for c, _ in chain[1:-1])


def describe_chain(ctx: Context, flow: Flow, col: ColumnRef) -> str:
    """``markets.securities_holdings.market_value -[DIRECT]-> int_x.value -[JOIN]-> m.value``."""
    chain = flow.chain(col)
    parts = [ctx.label(chain[0][0])]
    for c, e in chain[1:]:
        assert e is not None
        how = e.subtype.value if e.type == EdgeType.INDIRECT else "DIRECT"
        parts.append(f"-[{how}]-> {ctx.label(c)}")
    return " ".join(parts)
