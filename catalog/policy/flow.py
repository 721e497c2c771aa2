"""Restrictions flowing through the graph, and how a reached column is told.

A *flow* (``propagate``) carries restrictions from origin columns downstream over the edges a
rule accepts, node by node in dependency order, and records for every reached column the root
origins that reach it and one shortest chain back to one of them. Nodes a rule clears (proven
consent gates) stop the flow. One pass visits only what restricted data reaches, each edge once,
whatever the number of origins. ``ancestors`` / ``descendants`` walk the nodes by lineage;
``restricted_sources``, ``path_between`` and ``describe_chain`` tell a reached column's story.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Subtype
from catalog.policy.context import Context


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


def propagate(
    ctx: Context,
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
    flow = Flow(ctx)
    mask = ctx.edge_mask(edge_ok)
    src, pred, cost = flow.src, flow.pred, flow.cost
    e_src, col_in, node_in, children = ctx.e_src, ctx.col_in, ctx.node_in, ctx.children
    edges = ctx.edges
    rank = ctx.rank
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
        enqueue(ctx.col_node[i])
    while queue:
        _, uid = heapq.heappop(queue)
        ds_src, ds_best = gather(node_in.get(uid, ()), None, None, 1)
        reached: dict[int, tuple[frozenset[int] | None, tuple[tuple[int, int], int] | None]]
        reached = {}
        for ci in ctx.node_cols[uid]:
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


def ancestors(ctx: Context, uids: Iterable[str]) -> set[str]:
    """``uids`` and every node they depend on by lineage."""
    return _closure(uids, ctx.parents)


def descendants(ctx: Context, uids: Iterable[str]) -> set[str]:
    """``uids`` and every node that depends on them by lineage."""
    return _closure(uids, ctx.children)


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
