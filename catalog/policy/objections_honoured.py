"""Guarantee 5: every marketing output is filtered by the objections log (direct marketing;
profiling for profiling outputs; social matching for customer matching), every statistics
output by statistics objections, and every model-development output by model-development
objections (the scopes each purpose requires: ``objections.required`` in policy.yml).

An output honours a scope when its rows are restricted by the objections log for that scope,
directly or transitively:
- one of its row-restricting edges (WHERE, anti / semi / inner join, IN / EXISTS) comes from a
  column that carries the objections' value (derived over DIRECT edges or CASE conditions from
  the objections source) **and** the scope is named in SQL on that chain: as a string literal
  in the chain column's own definition (``case when scope = 'profiling' ...``) or in a row
  condition of a model on the chain or of the output itself; or
- one of its row-restricting edges comes from a model that honours the scope (an inner join
  with it); or
- every model its rows come from (DIRECT parents) honours the scope.

Lineage proves the dependency and the scope; the polarity (``not`` objecting) is proven on the
rows by the blocking checks of guarantee 7.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import cached_property

from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.lineage.graph import ColumnRef, ProjectGraph
from catalog.policy.context import Context
from catalog.policy.flow import Flow, ancestors, descendants, propagate, value_edge
from catalog.policy.result import Violation
from catalog.taxonomy import covers

RULE = "objections_honoured"


class SqlLiterals:
    """The string literals of one model's compiled SQL, by column and in row conditions (read
    from the graph's parse of it, ``ProjectGraph.parsed``, shared and never modified)."""

    def __init__(self, graph: ProjectGraph, uid: str):
        node = graph.nodes.get(uid)
        self.sql = (node.sql if node else None) or ""
        self.graph = graph
        self.uid = uid
        self._definitions: dict[str, tuple[set[str], set[str]]] = {}
        self._columns: dict[str, set[str]] = {}  # column() by name
        self._mentions: dict[str, bool] = {}

    @cached_property
    def tree(self) -> exp.Expression | None:
        if not self.sql.strip():
            return None
        try:
            return self.graph.parsed(self.uid)
        except ParseError:
            return None

    @staticmethod
    def _strings(node: exp.Expression | None) -> set[str]:
        if node is None:
            return set()
        return {lit.this for lit in node.find_all(exp.Literal) if lit.is_string}

    @cached_property
    def _parts(self) -> tuple[dict[str, list[exp.Expression]], set[str]]:
        """One walk of the query: every SELECT's projections by name, and the literals of the
        row conditions (WHERE, HAVING, QUALIFY and JOIN ... ON) anywhere."""
        projections: dict[str, list[exp.Expression]] = {}
        conditions: set[str] = set()
        if self.tree is None:
            return projections, conditions
        for node in self.tree.find_all(exp.Select, exp.Join, exp.Where, exp.Having, exp.Qualify):
            if isinstance(node, exp.Select):
                for p in node.expressions:
                    projections.setdefault(p.alias_or_name.lower(), []).append(p)
            elif isinstance(node, exp.Join):
                conditions |= self._strings(node.args.get("on"))
            else:
                conditions |= self._strings(node)
        return projections, conditions

    @property
    def conditions(self) -> set[str]:
        """Literals in WHERE, HAVING, QUALIFY and JOIN ... ON conditions anywhere."""
        return self._parts[1]

    def _definition(self, name: str) -> tuple[set[str], set[str]]:
        """The literals of the definitions of ``name`` (in any SELECT of the query) and the
        names of the columns they read, in one walk."""
        if name not in self._definitions:
            literals: set[str] = set()
            reads: set[str] = set()
            for p in self._parts[0].get(name, ()):
                for node in p.walk():
                    if isinstance(node, exp.Literal):
                        if node.is_string:
                            literals.add(node.this)
                    elif isinstance(node, exp.Column):
                        reads.add(node.name.lower())
            self._definitions[name] = (literals, reads)
        return self._definitions[name]

    def mentions(self, literal: str) -> bool:
        """Cheap pre-check before parsing: the quoted literal occurs in the text at all."""
        if literal not in self._mentions:
            self._mentions[literal] = f"'{literal}'" in self.sql
        return self._mentions[literal]

    def column(self, column: str) -> set[str]:
        """Literals in the definitions of ``column`` and of the CTE columns it is built from
        (matched by name within this query)."""
        column = column.lower()
        if column in self._columns:
            return self._columns[column]
        out: set[str] = set()
        seen: set[str] = set()
        queue = deque([column])
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen.add(name)
            literals, reads = self._definition(name)
            out |= literals
            queue.extend(reads)
        self._columns[column] = out
        return out


class _Honours:
    def __init__(self, ctx: Context, carriers: Flow):
        self.ctx = ctx
        self.carriers = carriers
        # node -> the scopes its rows honour, of the scopes decided for it.
        self.honoured: dict[str, set[str]] = {}
        self.decided: dict[str, set[str]] = {}
        self.literals: dict[str, SqlLiterals] = {}
        self.chains: dict[ColumnRef, set[ColumnRef]] = {}
        self.named: dict[tuple[str, str, str], bool] = {}  # _chain_names
        self.shapes: dict[str, tuple[list[ColumnRef], set[str], set[str]]] = {}
        # Every way to honour a scope starts from a row restriction by a carrier column: only
        # the nodes holding carriers and the nodes below them can honour one.
        self.reach = descendants(
            ctx, {ctx.col_node[i] for i, roots in enumerate(carriers.src) if roots is not None}
        )

    def sql(self, uid: str) -> SqlLiterals:
        if uid not in self.literals:
            self.literals[uid] = SqlLiterals(self.ctx.graph, uid)
        return self.literals[uid]

    def _chain(self, col: ColumnRef) -> set[ColumnRef]:
        """Carrier columns ``col`` derives its value from (itself included)."""
        if col in self.chains:
            return self.chains[col]
        seen = {col}
        queue = deque([col])
        while queue:
            cur = queue.popleft()
            for e in self.ctx.column_inputs(cur):
                if value_edge(e) and e.source in self.carriers and e.source not in seen:
                    seen.add(e.source)
                    queue.append(e.source)
        self.chains[col] = seen
        return seen

    def names_scope(self, carriers: list[ColumnRef], scope: str, applying: str) -> bool:
        """Whether SQL names ``scope`` on the chain of one of the ``carriers`` (in a chain
        column's definition or a row condition of its model) or, when there are carriers, in a
        row condition of the ``applying`` node."""
        if not carriers:
            return False
        if any(self._chain_names(c, scope) for c in carriers):
            return True
        lits = self.sql(applying)
        return lits.mentions(scope) and scope in lits.conditions

    def _chain_names(self, col: ColumnRef, scope: str) -> bool:
        """Whether SQL names ``scope`` on the chain of the carrier ``col``."""
        key = (col.node, col.column, scope)  # many outputs filter on the same carriers
        if key not in self.named:
            self.named[key] = False
            for c in self._chain(col):
                lits = self.sql(c.node)
                if lits.mentions(scope) and (
                    scope in lits.column(c.column) or scope in lits.conditions
                ):
                    self.named[key] = True
                    break
        return self.named[key]

    def decide(self, uids: Iterable[str], scopes: Iterable[str]) -> None:
        """Decide ``scopes`` for ``uids`` and their ancestors (those not decided yet), parents
        first (no recursion, however deep the project). Nodes outside ``reach`` honour
        nothing."""
        scopes = frozenset(scopes)
        ctx, honoured, decided = self.ctx, self.honoured, self.decided
        for node in sorted(ancestors(ctx, uids) & self.reach, key=ctx.rank.__getitem__):
            todo = scopes - decided.get(node, _NONE)
            if not todo:
                continue
            carriers, restricting, parents = self._shape(node)
            # Restricted by a node that honours the scope, or all its rows come from such nodes.
            h: set[str] = set()
            for n in restricting:
                h |= honoured.get(n, _NONE)
            if parents:
                common = set(todo)
                for p in parents:
                    common &= honoured.get(p, _NONE)
                h |= common
            h &= todo
            # Or restricted by a carrier of the objections whose chain names the scope.
            if carriers:
                h.update(s for s in todo - h if self.names_scope(carriers, s, node))
            honoured.setdefault(node, set()).update(h)
            decided.setdefault(node, set()).update(todo)

    def __call__(self, uid: str, scope: str) -> bool:
        """Whether the rows of ``uid`` honour ``scope``."""
        if scope not in self.decided.get(uid, _NONE):
            self.decide([uid], [scope])
        return scope in self.honoured.get(uid, _NONE)

    def _shape(self, uid: str) -> tuple[list[ColumnRef], set[str], set[str]]:
        """Scope-independent facts of a node: carrier columns its rows are restricted by,
        nodes its rows are restricted by, and the nodes its rows come from (DIRECT parents)."""
        if uid not in self.shapes:
            ctx, has = self.ctx, self.carriers.has
            e_src, col_node = ctx.e_src, ctx.col_node
            row_sources = [si for ei in ctx.rows_in.get(uid, ()) if (si := e_src[ei]) >= 0]
            restricting = {col_node[si] for si in row_sources}
            parents = {col_node[si] for ei in ctx.direct_in.get(uid, ()) if (si := e_src[ei]) >= 0}
            restricting.discard(uid)
            parents.discard(uid)
            self.shapes[uid] = (
                [ctx.ref(si) for si in row_sources if has(si)],
                restricting,
                parents,
            )
        return self.shapes[uid]


_NONE: frozenset[str] = frozenset()


def required_scopes(ctx: Context, uid: str) -> set[str]:
    """The objection scopes an output's rows must honour, from its purposes."""
    if not ctx.is_output(uid):
        return set()
    return set(_scopes(ctx, ctx.purposes(uid)))


def _scopes(ctx: Context, purposes: frozenset[str]) -> frozenset[str]:
    """The objection scopes an output with these purposes must honour."""
    return frozenset(
        s
        for r in ctx.config.objection_requirements
        if any(covers(r.purpose, p) for p in purposes)
        for s in r.scopes
    )


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    by_purposes: dict[frozenset[str], frozenset[str]] = {}  # most outputs share their purposes
    outputs: dict[str, frozenset[str]] = {}
    for u in ctx.order:
        if ctx.is_output(u):
            purposes = ctx.purposes(u)
            if purposes not in by_purposes:
                by_purposes[purposes] = _scopes(ctx, purposes)
            if by_purposes[purposes]:
                outputs[u] = by_purposes[purposes]
    if not outputs:
        return []
    objection_cols = {
        i
        for uid in ctx.source_nodes(cfg.objections_source, "objections.source")
        for i in ctx.node_cols[uid]
    }
    honours = _Honours(ctx, propagate(ctx, objection_cols, edge_ok=value_edge))
    by_scopes: dict[frozenset[str], list[str]] = {}  # each scope only where an output needs it
    for uid, scopes in outputs.items():
        by_scopes.setdefault(scopes, []).append(uid)
    for scopes, uids in by_scopes.items():
        honours.decide(uids, scopes)
    sources = (f"{cfg.objections_source}.{cfg.objections_scope_column}",)
    out = []
    for uid, scopes in outputs.items():
        for scope in sorted(scopes):
            if honours(uid, scope):
                continue
            purposes = ", ".join(sorted(ctx.purposes(uid)))
            out.append(
                Violation(
                    RULE,
                    ctx.name(uid),
                    None,
                    f"rows are not filtered by the objections log for scope {scope!r} (required "
                    f"by its purposes {purposes}): no WHERE / anti join on an objection of scope "
                    f"'{scope}' from {cfg.objections_source}, here or in every model its rows "
                    "come from",
                    sources=sources,
                    node_id=uid,
                )
            )
    return out
