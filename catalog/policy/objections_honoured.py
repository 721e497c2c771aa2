"""Guarantee 5: every marketing output is filtered by the objections log (direct marketing;
profiling for profiling outputs; social matching for customer matching), and every statistics
output by statistics objections.

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

import sqlglot
from sqlglot import exp

from catalog.lineage.graph import ColumnRef, EdgeType
from catalog.policy.core import Context, Flow, Violation, value_edge
from catalog.taxonomy import covers

RULE = "objections_honoured"


class SqlLiterals:
    """The string literals of one model's compiled SQL, by column and in row conditions."""

    def __init__(self, sql: str | None):
        self.sql = sql or ""

    @cached_property
    def tree(self) -> exp.Expression | None:
        if not self.sql.strip():
            return None
        for dialect in ("duckdb", None):
            try:
                return sqlglot.parse_one(self.sql, dialect=dialect)
            except sqlglot.errors.ParseError:
                continue
        return None

    @staticmethod
    def _strings(node: exp.Expression | None) -> set[str]:
        if node is None:
            return set()
        return {lit.this for lit in node.find_all(exp.Literal) if lit.is_string}

    @cached_property
    def conditions(self) -> set[str]:
        """Literals in WHERE, HAVING, QUALIFY and JOIN ... ON conditions anywhere."""
        if self.tree is None:
            return set()
        out: set[str] = set()
        for node in self.tree.find_all(exp.Where, exp.Having, exp.Qualify):
            out |= self._strings(node)
        for join in self.tree.find_all(exp.Join):
            out |= self._strings(join.args.get("on"))
        return out

    @cached_property
    def _projections(self) -> dict[str, list[exp.Expression]]:
        index: dict[str, list[exp.Expression]] = {}
        if self.tree is None:
            return index
        for select in self.tree.find_all(exp.Select):
            for p in select.expressions:
                index.setdefault(p.alias_or_name.lower(), []).append(p)
        return index

    def mentions(self, literal: str) -> bool:
        """Cheap pre-check before parsing: the quoted literal occurs in the text at all."""
        return f"'{literal}'" in self.sql

    def column(self, column: str) -> set[str]:
        """Literals in the definitions of ``column`` and of the CTE columns it is built from
        (matched by name within this query)."""
        out: set[str] = set()
        seen: set[str] = set()
        queue = deque([column.lower()])
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen.add(name)
            for p in self._projections.get(name, ()):
                out |= self._strings(p)
                queue.extend(c.name.lower() for c in p.find_all(exp.Column))
        return out


class _Honours:
    def __init__(self, ctx: Context, carriers: Flow):
        self.ctx = ctx
        self.carriers = carriers
        self.memo: dict[tuple[str, str], bool] = {}
        self.literals: dict[str, SqlLiterals] = {}
        self.chains: dict[ColumnRef, set[ColumnRef]] = {}
        self.shapes: dict[str, tuple[list[ColumnRef], set[str], set[str]]] = {}

    def sql(self, uid: str) -> SqlLiterals:
        if uid not in self.literals:
            node = self.ctx.graph.nodes.get(uid)
            self.literals[uid] = SqlLiterals(node.sql if node else None)
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

    def names_scope(self, col: ColumnRef, scope: str, applying: str) -> bool:
        for c in self._chain(col):
            lits = self.sql(c.node)
            if lits.mentions(scope) and (
                scope in lits.column(c.column) or scope in lits.conditions
            ):
                return True
        lits = self.sql(applying)
        return lits.mentions(scope) and scope in lits.conditions

    def decide(self, uids: Iterable[str], scopes: Iterable[str]) -> None:
        """Decide ``scopes`` for ``uids`` and their ancestors, parents first (no recursion,
        however deep the project)."""
        nodes = sorted(self.ctx.ancestors(uids), key=self.ctx.rank.__getitem__)
        for scope in scopes:
            for node in nodes:
                if (node, scope) not in self.memo:
                    self.memo[(node, scope)] = self._decide(node, scope)

    def __call__(self, uid: str, scope: str) -> bool:
        """Whether the rows of ``uid`` honour ``scope``."""
        if (uid, scope) not in self.memo:
            self.decide([uid], [scope])
        return self.memo[(uid, scope)]

    def _shape(self, uid: str) -> tuple[list[ColumnRef], set[str], set[str]]:
        """Scope-independent facts of a node: carrier columns its rows are restricted by,
        nodes its rows are restricted by, and the nodes its rows come from (DIRECT parents)."""
        if uid not in self.shapes:
            ctx = self.ctx
            carriers: list[ColumnRef] = []
            restricting: set[str] = set()
            parents: set[str] = set()
            for ei in ctx.all_in.get(uid, ()):
                si = ctx.e_src[ei]
                if si < 0:
                    continue
                e, src = ctx.edges[ei], ctx.cols[si].node
                if e.restricts_rows:
                    if self.carriers.has(si):
                        carriers.append(ctx.cols[si])
                    if src != uid:
                        restricting.add(src)
                if e.type == EdgeType.DIRECT and src != uid:
                    parents.add(src)
            self.shapes[uid] = (carriers, restricting, parents)
        return self.shapes[uid]

    def _decide(self, uid: str, scope: str) -> bool:
        memo = self.memo
        carriers, restricting, parents = self._shape(uid)
        if any(self.names_scope(c, scope, uid) for c in carriers):
            return True
        if any(memo.get((n, scope), False) for n in restricting):
            return True
        return bool(parents) and all(memo.get((p, scope), False) for p in parents)


def required_scopes(ctx: Context, uid: str) -> set[str]:
    """The objection scopes an output's rows must honour, from its purposes."""
    if not ctx.is_output(uid):
        return set()
    purposes = ctx.purposes(uid)
    return {
        s
        for r in ctx.config.objection_requirements
        if any(covers(r.purpose, p) for p in purposes)
        for s in r.scopes
    }


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    outputs = {u: required_scopes(ctx, u) for u in ctx.order}
    outputs = {u: s for u, s in outputs.items() if s}
    if not outputs:
        return []
    objection_cols = {
        ColumnRef(uid, c)
        for uid in ctx.source_nodes(cfg.objections_source, "objections.source")
        for c in ctx.graph.nodes[uid].columns
    }
    honours = _Honours(ctx, ctx.propagate(objection_cols, edge_ok=value_edge))
    honours.decide(outputs, {s for scopes in outputs.values() for s in scopes})
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
