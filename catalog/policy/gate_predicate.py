"""Which consent values a consent gate admits, decided from its compiled SQL (PRIVACY.md rule 3:
"a gate is proven only when its SQL admits the granting value and nothing else: the latest
consent event per person, compared for equality with `granted` (or the boolean true)").

The consent column has a small, known domain (``GateConfig.values``, e.g. ``'granted'`` /
``'withdrawn'``, plus *any other value* for a text column and NULL: no event). The SQL is
interpreted abstractly, once per value ``d`` of the domain, for the persons whose latest consent
is ``d``:

- every column is a set of values it may take for such a person (or *any value*), every
  relation (CTE, subquery, upstream model) says whether such persons may have rows in it;
- WHERE / HAVING / QUALIFY, inner and semi joins, ``IN`` / ``EXISTS`` restrict those rows;
  LEFT / RIGHT / FULL joins keep the preserved side and make the other side's columns nullable;
  CASE / IF / COALESCE / comparisons / ``IN`` lists / ``IS [NOT]`` are evaluated in SQL's
  three-valued logic (a row is kept only when its condition may be TRUE), anything else on the
  consent is *any value*, which never proves anything;
- upstream models that carry the consent are interpreted from their own compiled SQL, back to
  the consent source; models that do not carry it are opaque (any value, every row).

"The latest event per person" is a row selection: events ranked by ``row_number()`` /
``rank()`` / ``dense_rank()`` over a window partitioned by the person key
(``GateConfig.subject_column``, as is or hashed) and ordered by the event time
(``GateConfig.event_time_column``) descending, filtered ``= 1`` (WHERE of the next scope or
QUALIFY); ``arg_max`` / ``max_by(consent, event_time)`` grouped by the person key; or a join of
the events with ``max(event_time)`` grouped by the person key on key and time. The events must
not be filtered on anything but the person key before the selection (else it is the latest of
*those* events). A consent value read from single events, an aggregate over all events
(``bool_or(consent = 'granted')``, ``max(consent)``) or a window over them is refuted. The
tie-break between events of equal time (rule 8) is not checked here: the row checks prove it.

A gate is proven on its rows when persons may have rows in its result for the granting value
and for no other; on its columns when, for every other value, each restricted column is NULL
or a constant. Anything that cannot be interpreted fails closed with the reason. What is not
proven here: that the consent is joined to the same person as the data (the lineage's JOIN /
FILTER edges and the row checks cover it).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.errors import SqlglotError

from catalog.lineage.graph import ColumnRef, ProjectGraph

__all__ = ["OTHER", "Domain", "GateSql", "Verdict"]

EVENT, LATEST = "event", "latest"
KEY, TIME, MAXTIME, RANK = "key", "time", "maxtime", "rank"


class _Other:
    """A value of the consent column other than the known ones (the domain may grow)."""

    def __repr__(self) -> str:
        return "OTHER"


OTHER = _Other()
_TFN = frozenset({True, False, None})
_TF = frozenset({True, False})

# Per domain value: the set of values an expression may take, or None for any value.
Cell = frozenset | None


@dataclass(frozen=True)
class Domain:
    """The values of a consent column: the known ones, any other (text columns), NULL."""

    values: tuple
    granting: object

    @classmethod
    def of(cls, known: Iterable[object], granting: object) -> Domain:
        known = tuple(dict.fromkeys(known))
        if granting not in known:
            known = (granting, *known)
        boolean = all(isinstance(v, bool) for v in known)
        extra = () if boolean and set(known) == {True, False} else (OTHER,)
        return cls((*known, *extra, None), granting)

    @property
    def known(self) -> tuple:
        return tuple(v for v in self.values if v is not None and v is not OTHER)

    def label(self, value: object) -> str:
        if value is None:
            return "no event"
        if value is OTHER:
            return "any other value"
        if isinstance(value, bool):
            return str(value).lower()
        return f"'{value}'"


@dataclass(frozen=True, slots=True)
class Val:
    """An expression's value per domain value (``vec`` None: any value for all of them)."""

    vec: tuple[Cell, ...] | None = None
    dep: bool = False  # depends on the consent
    bad: str = ""  # why its dependence on the consent cannot be trusted (a refutation)
    role: str = ""  # KEY / TIME / MAXTIME of the consent events, RANK of a window over them
    why: str = ""  # RANK: why the ranking does not pick the latest event ("" = it does)
    grain: str = ""  # dep: whose consent it reads, single events (EVENT) or the latest (LATEST)


_OPAQUE = Val()


@dataclass
class Rel:
    """A relation: its columns, and whether persons with each consent value may have rows."""

    cols: dict[str, Val]
    exists: list[bool]
    grain: str = ""  # what the consent of its rows is: "" none, EVENT single events, LATEST
    filtered: str = ""  # EVENT: a condition that picked events within a person
    bad: str = ""  # its rows are restricted by a consent value that cannot be trusted
    conds: tuple[str, ...] = ()  # the consent conditions that restricted its rows (SQL)
    open: bool = False  # columns not known: any name resolves, to an opaque value
    latest_why: str = ""  # EVENT: why a selection of the latest event did not count

    def copy(self) -> Rel:
        return replace(self, cols=dict(self.cols), exists=list(self.exists))


@dataclass(frozen=True)
class Verdict:
    """``how``: "rows" / "columns" when proven, "" when refuted (``why``), None when the rows
    are not restricted by the consent at all (``rows`` only)."""

    how: str | None
    why: str = ""


class _Unsupported(Exception):
    """A construct the interpreter does not model, where the consent is involved."""


@dataclass
class _Source:
    alias: str
    rel: Rel
    nullable: bool = False
    match: list[bool] | None = None  # nullable: whether a row may match, per domain value


@dataclass
class _Scope:
    sources: list[_Source]
    outer: _Scope | None
    env: dict[str, Rel]
    uid: str
    grain: str = ""
    selected: bool = False  # the latest event was selected here: event columns read it
    filtered: str = ""
    projections: dict[str, exp.Expression] = field(default_factory=dict)
    agg: _Agg | None = None
    resolving: set[str] = field(default_factory=set)


@dataclass
class _Agg:
    grain: str  # the grain of the rows aggregated
    per_person: bool  # grouped by the person key of the events
    filtered: str
    groups: list[exp.Expression]


def _and(a: Cell, b: Cell) -> Cell:
    a = _TFN if a is None else a
    b = _TFN if b is None else b
    out = set()
    for x in a:
        for y in b:
            if x is False or y is False:
                out.add(False)
            elif x is None or y is None:
                out.add(None)
            else:
                out.add(True)
    return frozenset(out)


def _or(a: Cell, b: Cell) -> Cell:
    a = _TFN if a is None else a
    b = _TFN if b is None else b
    out = set()
    for x in a:
        for y in b:
            if x is True or y is True:
                out.add(True)
            elif x is None or y is None:
                out.add(None)
            else:
                out.add(False)
    return frozenset(out)


def _not(a: Cell) -> Cell:
    a = _TFN if a is None else a
    return frozenset(None if x is None else (x is not True) for x in a)


def _may_be_true(c: Cell) -> bool:
    return c is None or True in c


class GateSql:
    """The consent-value analysis of one gate kind, over one lineage graph (one evaluation).
    Each model's SQL is read as the graph parsed it (``ProjectGraph.parsed``: shared, never
    modified here)."""

    def __init__(
        self,
        graph: ProjectGraph,
        *,
        consent: ColumnRef,
        domain: Domain,
        subject_column: str | None,
        event_time_column: str | None,
        carries: Callable[[str], bool],
        parents: Callable[[str], Iterable[str]],
        renames: Callable[[str], tuple[str, dict[str, str]] | None] = lambda uid: None,
    ):
        self.graph = graph
        self.nodes = graph.nodes
        self.consent = consent
        self.domain = domain
        self.subject = (subject_column or "").lower()
        self.time = (event_time_column or "").lower()
        self.carries = carries
        self.parents = parents
        self.renames = renames
        self.n = len(domain.values)
        self._rels: dict[str, Rel] = {}
        self._by_name: dict[str, list[str]] | None = None

    # -- verdicts -------------------------------------------------------------------------------
    def rows(self, uid: str) -> Verdict:
        """Whether the gate's rows admit the granting value and nothing else."""
        rel = self.node_rel(uid, gate=True)
        if rel.bad:
            return Verdict("", rel.bad)
        if all(rel.exists) and not rel.conds:
            return Verdict(None)
        where = "; ".join(rel.conds[:2])
        if rel.grain != LATEST:
            why = f" ({rel.latest_why})" if rel.latest_why else ""
            return Verdict(
                "",
                "its filter compares the consent of single events, not the latest event per "
                f"person{why}: {where}",
            )
        d = self.domain
        admitted = [v for v, ok in zip(d.values, rel.exists, strict=True) if ok]
        if admitted == [d.granting]:
            return Verdict("rows")
        others = [d.label(v) for v in admitted if v is not d.granting and v != d.granting]
        if not others:
            return Verdict(
                "", f"its filter admits no consent value, not even {d.label(d.granting)}: {where}"
            )
        return Verdict(
            "",
            f"its filter admits consent values other than {d.label(d.granting)} "
            f"({', '.join(others)}): {where}",
        )

    def columns(self, uid: str, columns: Iterable[str]) -> Verdict:
        """Whether each of ``columns`` of the gate carries data only for the granting value
        (NULL or a constant for every other)."""
        rel = self.node_rel(uid, gate=True)
        if rel.bad:
            return Verdict("", rel.bad)
        d = self.domain
        for c in columns:
            v = rel.cols.get(c)
            if v is None:
                return Verdict("", f"cannot find column {c} in its SQL")
            if v.bad:
                return Verdict("", v.bad)
            passes = [
                val
                for k, val in enumerate(d.values)
                if rel.exists[k] and (v.vec is None or v.vec[k] is None)
            ]
            if not v.dep or passes == list(d.values):
                return Verdict("", f"{c} is not conditioned on the consent value")
            if rel.grain != LATEST:
                return Verdict(
                    "",
                    f"{c} is conditioned on the consent of single events, not the latest event "
                    "per person",
                )
            others = [d.label(val) for val in passes if val != d.granting or val is None]
            if others:
                return Verdict(
                    "",
                    f"{c} passes its data for consent values other than {d.label(d.granting)} "
                    f"({', '.join(others)})",
                )
        return Verdict("columns")

    # -- relations of nodes ---------------------------------------------------------------------
    def node_rel(self, uid: str, *, gate: bool = False) -> Rel:
        """The relation of a node: read from its SQL when it is the gate, the consent source,
        or a model that carries the consent; opaque otherwise."""
        rel = self._rels.get(uid)
        if rel is None:
            self._rels[uid] = self._neutral(self._columns(uid))  # a cycle reads it as opaque
            rel = self._rels[uid] = self._node_rel(uid, gate)
        return rel

    def _columns(self, uid: str) -> tuple[str, ...]:
        node = self.nodes.get(uid)
        return tuple(node.columns) if node else ()

    def _neutral(self, columns: Iterable[str], *, open_: bool = False) -> Rel:
        return Rel({c: _OPAQUE for c in columns}, [True] * self.n, open=open_)

    def _node_rel(self, uid: str, gate: bool) -> Rel:
        node = self.nodes[uid]
        if uid == self.consent.node:
            n, d = self.n, self.domain
            cols = {c: _OPAQUE for c in node.columns}
            cols[self.consent.column] = Val(tuple(frozenset({v}) for v in d.values), dep=True)
            if self.subject in cols:
                cols[self.subject] = Val(role=KEY)
            if self.time in cols:
                cols[self.time] = Val(role=TIME)
            return Rel(cols, [True] * n, grain=EVENT)
        if node.resource_type in ("source", "seed") or not (gate or self.carries(uid)):
            return self._neutral(node.columns)
        projection = self.renames(uid)
        if projection is not None:  # a staging view: its parent's rows, renamed
            parent, columns = projection
            rel = self.node_rel(parent)
            return replace(rel, cols={c: rel.cols.get(p, _OPAQUE) for c, p in columns.items()})
        name = node.label
        tree = None
        if node.sql and node.sql.strip():
            with contextlib.suppress(SqlglotError):
                tree = self.graph.parsed(uid)
        if not isinstance(tree, exp.Query):
            return self._failed(node, f"the SQL of {name} does not parse as a query")
        try:
            rel = self._query(tree, {}, None, uid)
        except _Unsupported as e:
            return self._failed(node, f"{name}: {e}")
        except (RecursionError, SqlglotError) as e:  # pragma: no cover - defensive
            return self._failed(node, f"{name}: {type(e).__name__}")
        return rel

    def _failed(self, node, reason: str) -> Rel:
        bad = f"cannot prove which consent values it admits: {reason}"
        rel = self._neutral(node.columns)
        rel.bad = bad
        return rel

    def _table_uid(self, table: exp.Table, owner: str) -> str | None:
        """The node a table reference of ``owner``'s SQL reads."""
        name = table.name.lower()
        db = table.db.lower()
        candidates = list(dict.fromkeys(self.parents(owner)))
        for pool in (candidates, None):
            found = []
            for uid in pool if pool is not None else self._names().get(name, ()):
                node = self.nodes.get(uid)
                if node is None:
                    continue
                rel = (node.relation or "").lower().replace('"', "")
                parts = rel.split(".") if rel else []
                if parts:
                    ok = parts[-1] == name and (not db or len(parts) < 2 or parts[-2] == db)
                else:  # no relation (hand-built graphs): the name, and the source's name
                    source = (node.source_name or "").lower()
                    ok = node.name.lower() == name and (not db or not source or db == source)
                if ok:
                    found.append(uid)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                return None
        return None

    def _names(self) -> dict[str, list[str]]:
        if self._by_name is None:
            self._by_name = {}
            for uid, node in self.nodes.items():
                rel = (node.relation or "").lower().replace('"', "")
                key = rel.rsplit(".", 1)[-1] if rel else node.name.lower()
                self._by_name.setdefault(key, []).append(uid)
        return self._by_name

    # -- queries --------------------------------------------------------------------------------
    def _query(self, q: exp.Expression, env: dict[str, Rel], outer: _Scope | None, uid: str) -> Rel:
        with_ = q.args.get("with_")
        if with_ is not None:
            env = dict(env)
            for cte in with_.expressions:
                env[cte.alias.lower()] = self._query(cte.this, env, outer, uid)
        if isinstance(q, exp.Subquery):
            return self._query(q.this, env, outer, uid)
        if isinstance(q, exp.Select):
            return self._select(q, env, outer, uid)
        if isinstance(q, exp.SetOperation):
            return self._set_operation(q, env, outer, uid)
        raise _Unsupported(f"a {type(q).__name__} query")

    def _set_operation(
        self, q: exp.SetOperation, env: dict[str, Rel], outer: _Scope | None, uid: str
    ) -> Rel:
        left = self._query(q.this, env, outer, uid)
        right = self._query(q.expression, env, outer, uid)
        if q.args.get("by_name"):
            pairs = [(c, left.cols[c], right.cols.get(c, _OPAQUE)) for c in left.cols]
        else:
            pairs = [
                (c, a, b)
                for (c, a), b in zip(
                    left.cols.items(),
                    itertools.chain(right.cols.values(), itertools.repeat(_OPAQUE)),
                    strict=False,
                )
            ]
        if isinstance(q, exp.Union):
            exists = [a or b for a, b in zip(left.exists, right.exists, strict=True)]
            cols = {c: self._union_val(a, b) for c, a, b in pairs}
        elif isinstance(q, exp.Intersect):
            exists = [a and b for a, b in zip(left.exists, right.exists, strict=True)]
            cols = {c: a for c, a, _ in pairs}
        else:  # EXCEPT: the left branch's rows, fewer
            exists = list(left.exists)
            cols = {c: a for c, a, _ in pairs}
        rel = Rel(
            cols,
            exists,
            conds=left.conds + right.conds,
            bad=left.bad or right.bad,
            open=left.open or right.open,
        )
        rel.grain, mixed = _merge_grain(left.grain, right.grain)
        if mixed:
            rel.bad = rel.bad or _MIXED
        rel.filtered = left.filtered or right.filtered
        return self._normal(rel)

    def _union_val(self, a: Val, b: Val) -> Val:
        if a.vec is None or b.vec is None:
            vec = None
        else:
            vec = tuple(
                None if x is None or y is None else x | y for x, y in zip(a.vec, b.vec, strict=True)
            )
        grain = _merge_grain(a.grain, b.grain)[0] if a.dep and b.dep else a.grain or b.grain
        role = a.role if a.role == b.role else ""
        return Val(vec, a.dep or b.dep, a.bad or b.bad, role, grain=grain)

    def _normal(self, rel: Rel) -> Rel:
        """A relation whose rows and columns do not depend on the consent has no grain."""
        if (
            rel.grain
            and all(rel.exists)
            and not rel.bad
            and not rel.conds
            and not any(v.dep for v in rel.cols.values())
        ):
            rel.grain = ""
        return rel

    def _from_item(self, item: exp.Expression, sc: _Scope) -> _Source:
        alias = item.alias_or_name.lower() if hasattr(item, "alias_or_name") else ""
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            name = item.name.lower()
            if not item.db and name in sc.env:
                return _Source(alias or name, sc.env[name])
            target = self._table_uid(item, sc.uid)
            if target is not None:
                return _Source(alias or name, self.node_rel(target))
            return _Source(alias or name, self._neutral((), open_=True))
        if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Query):
            return _Source(alias, self._query(item.this, sc.env, sc.outer, sc.uid))
        # Table functions, VALUES, UNNEST, LATERAL: opaque, unless they read the consent.
        for col in item.find_all(exp.Column):
            if self._col(col, sc, quiet=True).dep:
                raise _Unsupported(f"the consent is read inside {_sql(item)}")
        return _Source(alias, self._neutral((), open_=True))

    def _select(self, sel: exp.Select, env: dict[str, Rel], outer: _Scope | None, uid: str) -> Rel:
        sc = _Scope([], outer, env, uid)
        n = self.n
        st = _State([True] * n)
        from_ = sel.args.get("from_")
        if from_ is not None:
            src = self._from_item(from_.this, sc)
            sc.sources.append(src)
            st.exists = list(src.rel.exists)
            sc.grain, sc.filtered = src.rel.grain, src.rel.filtered
            st.absorb(src.rel)
        for join in sel.args.get("joins") or ():
            self._join(join, sc, st)
        where = sel.args.get("where")
        if where is not None:
            self._restrict(where.this, "where", sc, st, selection=True)
        # Projections (and what HAVING / QUALIFY / GROUP BY may name of them).
        items: list[tuple[str, exp.Expression | None, Val | None]] = []
        for p in sel.expressions:
            if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star):
                items += self._star(p, sc, st)
            else:
                name = p.alias_or_name.lower()
                items.append((name, p.unalias(), None))
                sc.projections.setdefault(name, p.unalias())
        group = sel.args.get("group")
        aggregating = group is not None or any(
            e is not None and _has_aggregate(e) for _, e, _ in items
        )
        in_grain = sc.grain
        if aggregating:
            groups = self._group_exprs(group, items)
            keys = [self._eval(g, sc) for g in groups]
            per_person = bool(keys) and all(k.role == KEY for k in keys)
            sc.agg = _Agg(sc.grain, per_person, sc.filtered, groups)
            if sc.grain == EVENT and not all(st.exists):
                st.bad = st.bad or (
                    "its filter keeps persons by single consent events, not by the latest "
                    f"event per person: {'; '.join(st.conds[:2]) or sc.filtered}"
                )
            if sc.grain == EVENT:
                st.exists = [True] * n
        cols: dict[str, Val] = {}
        for name, e, val in items:
            v = val if val is not None else self._top(e, sc)
            if name in cols:
                i = 1
                while f"{name}_{i}" in cols:
                    i += 1
                name = f"{name}_{i}"
            cols[name] = v
        having = sel.args.get("having")
        if having is not None:
            self._restrict(having.this, "having", sc, st)
        if aggregating and in_grain == EVENT:
            sc.grain = LATEST if sc.agg and sc.agg.per_person and not sc.filtered else ""
            sc.filtered = ""
        qualify = sel.args.get("qualify")
        if qualify is not None:
            sc.agg = None
            self._restrict(qualify.this, "qualify", sc, st, selection=True, qualify=True)
            if sc.selected:  # QUALIFY selects after the projections were computed
                cols = {
                    c: replace(v, grain=LATEST) if v.grain == EVENT else v for c, v in cols.items()
                }
        grain = sc.grain
        for v in cols.values():
            if v.dep and v.grain and not v.bad:
                grain, mixed = _merge_grain(grain, v.grain)
                if mixed:
                    st.bad = st.bad or _MIXED
        rel = Rel(
            cols,
            st.exists,
            grain=grain,
            filtered=sc.filtered if grain == EVENT else "",
            bad=st.bad,
            conds=tuple(dict.fromkeys(st.conds)),
            open=st.open,
            latest_why=st.latest_why if grain == EVENT else "",
        )
        return self._normal(rel)

    def _join(self, join: exp.Join, sc: _Scope, st: _State) -> None:
        src = self._from_item(join.this, sc)
        prev = list(sc.sources)
        sc.sources.append(src)
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        st.absorb(src.rel, rows=side != "LEFT")
        before = sc.filtered
        grain, mixed = _merge_grain(sc.grain, src.rel.grain)
        sc.grain = grain
        sc.filtered = sc.filtered or src.rel.filtered
        on = join.args.get("on")
        inner = side not in ("LEFT", "RIGHT", "FULL") and kind != "ANTI"
        if on is not None and inner and grain == EVENT and self._latest_join(on, sc) and not before:
            sc.grain, sc.filtered, sc.selected = LATEST, "", True
            cond = self._restrict(on, "on", sc, None)
        else:
            if mixed:
                st.bad = st.bad or _MIXED
            cond = self._restrict(on, "on", sc, None) if on is not None else None
        ok = [True] * self.n if cond is None else [_may_be_true(c) for c in cond.vec]
        if cond is not None:
            st.bad = st.bad or cond.bad
            if side != "LEFT":  # a LEFT join's condition keeps every row of the left side
                st.conds += cond.conds
            sc.grain, m = _merge_grain(sc.grain, cond.grain)
            if m:
                st.bad = st.bad or _MIXED
            if sc.grain == EVENT:
                sc.filtered = sc.filtered or cond.filtered
        if side == "LEFT":
            src.nullable, src.match = True, _all(src.rel.exists, ok)
        elif side in ("RIGHT", "FULL"):
            for p in prev:
                p.nullable = True
                p.match = _all(st.exists, ok)
            if side == "FULL":
                src.nullable, src.match = True, _all(src.rel.exists, ok)
                st.exists = [a or b for a, b in zip(st.exists, src.rel.exists, strict=True)]
            else:
                st.exists = list(src.rel.exists)
        elif kind == "ANTI":
            sc.sources.pop()
        else:  # inner, cross, semi
            st.exists = _all(st.exists, src.rel.exists, ok)
            if kind == "SEMI":
                sc.sources.pop()

    def _group_exprs(self, group: exp.Group | None, items) -> list[exp.Expression]:
        if group is None:
            return []
        if group.args.get("all"):
            return [e for _, e, _ in items if e is not None and not _has_aggregate(e)]
        out = []
        for g in group.expressions:
            if isinstance(g, exp.Literal) and not g.is_string:  # group by 1
                i = int(g.this) - 1
                if 0 <= i < len(items) and items[i][1] is not None:
                    out.append(items[i][1])
                    continue
            out.append(g)
        return out

    def _star(self, star: exp.Expression, sc: _Scope, st: _State) -> list[tuple[str, None, Val]]:
        table = star.table.lower() if isinstance(star, exp.Column) else ""
        node = star.this if isinstance(star, exp.Column) else star
        excluded = {c.name.lower() for c in (node.args.get("except_") or ())}
        if node.args.get("replace") or node.args.get("rename"):
            raise _Unsupported("`* REPLACE / RENAME`")
        out = []
        for src in sc.sources:
            if table and src.alias != table:
                continue
            st.open = st.open or src.rel.open
            for c in src.rel.cols:
                if c not in excluded:
                    out.append((c, None, self._from_source(src, c, sc)))
        return out

    # -- conditions -----------------------------------------------------------------------------
    def _restrict(
        self,
        cond: exp.Expression,
        clause: str,
        sc: _Scope,
        st: _State | None,
        *,
        selection: bool = False,
        qualify: bool = False,
    ) -> _Restriction:
        """Apply a row condition (``st`` None: only return it, for a join's ON): its truth per
        domain value; a conjunct ``rank = 1`` on a ranking of the consent events selects the
        latest event (or says why it does not count)."""
        out = _Restriction([frozenset({True})] * self.n)
        rest = []
        for c in _conjuncts(cond):
            why = self._selection(c, sc, qualify) if selection else None
            if why is None:
                rest.append(c)
            elif why:
                if st is not None:
                    st.latest_why = st.latest_why or why
            else:
                sc.grain, sc.filtered, sc.selected = LATEST, "", True
        for c in rest:
            v = self._top(c, sc)
            out.bad = out.bad or v.bad
            if v.dep:
                out.conds.append(f"{clause} {_sql(c)}")
                out.grain, mixed = _merge_grain(out.grain, v.grain)
                if mixed:
                    out.bad = out.bad or _MIXED
            if sc.grain == EVENT and not out.filtered and self._picks_events(c, sc):
                out.filtered = f"{clause} {_sql(c)}"
            cells = v.vec if v.vec is not None else (None,) * self.n
            out.vec = [_and(a, b) for a, b in zip(out.vec, cells, strict=True)]
        if st is not None:
            st.exists = [a and _may_be_true(c) for a, c in zip(st.exists, out.vec, strict=True)]
            st.bad = st.bad or out.bad
            st.conds += out.conds
            sc.grain, mixed = _merge_grain(sc.grain, out.grain)
            if mixed:
                st.bad = st.bad or _MIXED
            if sc.grain == EVENT:
                sc.filtered = sc.filtered or out.filtered
        return out

    def _selection(self, c: exp.Expression, sc: _Scope, qualify: bool) -> str | None:
        """``rank = 1`` on a ranking of the consent events: "" it selects the latest event,
        a reason it does not; None: not such a condition."""
        if isinstance(c, exp.EQ | exp.LTE):
            pairs = [(c.this, c.expression)]
            if isinstance(c, exp.EQ):
                pairs.append((c.expression, c.this))
            bound = "1"
        elif isinstance(c, exp.LT):
            pairs, bound = [(c.this, c.expression)], "2"
        else:
            return None
        for rank, one in pairs:
            if not (isinstance(one, exp.Literal) and not one.is_string and one.this == bound):
                continue
            if isinstance(rank, exp.Window) and not qualify:
                continue
            if isinstance(rank, exp.Column | exp.Window) and sc.grain == EVENT:
                v = self._eval(rank, sc)
                if v.role == RANK:
                    return v.why
        return None

    def _picks_events(self, c: exp.Expression, sc: _Scope) -> bool:
        """Whether a condition reads a consent event's column other than the person key."""
        for col in c.find_all(exp.Column):
            src = self._source_of(col, sc)
            if src is not None and src.rel.grain == EVENT:
                v = src.rel.cols.get(col.name.lower())
                if v is None or v.role != KEY:
                    return True
        return False

    def _latest_join(self, on: exp.Expression, sc: _Scope) -> bool:
        """Events joined with max(event_time) per person, on the person key and the time."""
        keys = times = False
        for c in _conjuncts(on):
            if isinstance(c, exp.EQ):
                roles = {self._eval(c.this, sc).role, self._eval(c.expression, sc).role}
                keys |= roles == {KEY}
                times |= roles == {TIME, MAXTIME}
        return keys and times

    # -- expressions ----------------------------------------------------------------------------
    def _source_of(self, col: exp.Column, sc: _Scope | None) -> _Source | None:
        table, name = col.table.lower(), col.name.lower()
        while sc is not None:
            for src in sc.sources:
                if src.alias == table if table else name in src.rel.cols:
                    return src
            sc = sc.outer
        return None

    def _from_source(self, src: _Source, name: str, sc: _Scope) -> Val:
        v = src.rel.cols.get(name, _OPAQUE)
        if v.dep:
            grain = v.grain or src.rel.grain or EVENT
            if grain == EVENT and sc.selected and src.rel.grain == EVENT:
                grain = LATEST
            if grain != v.grain:
                v = replace(v, grain=grain)
        if not src.nullable:
            return v
        match = src.match or [True] * self.n
        if all(match) and not v.dep and v.vec is None:
            return v
        dep = v.dep or not all(match)
        grain = v.grain or (src.rel.grain if dep else "")
        if v.vec is None:
            vec = tuple(None if m else frozenset({None}) for m in match)
        else:
            vec = tuple(
                (None if c is None else c | {None}) if m else frozenset({None})
                for c, m in zip(v.vec, match, strict=True)
            )
        return Val(vec, dep, v.bad, grain=grain)

    def _col(self, col: exp.Column, sc: _Scope, *, quiet: bool = False) -> Val:
        table, name = col.table.lower(), col.name.lower()
        s: _Scope | None = sc
        while s is not None:
            if table:
                found = [src for src in s.sources if src.alias == table]
                if found:
                    return self._from_source(found[0], name, s)
            else:
                named = [src for src in s.sources if name in src.rel.cols]
                if len(named) == 1:
                    return self._from_source(named[0], name, s)
                if len(named) > 1:
                    if any(src.rel.cols[name].dep for src in named) and not quiet:
                        raise _Unsupported(f"column {name} is ambiguous")
                    return _OPAQUE
                if name in s.projections and name not in s.resolving:
                    s.resolving.add(name)
                    try:
                        return self._eval(s.projections[name], s)
                    finally:
                        s.resolving.discard(name)
                if any(src.rel.open for src in s.sources):
                    return _OPAQUE
            s = s.outer
        return _OPAQUE

    def _top(self, e: exp.Expression, sc: _Scope) -> Val:
        """``_eval`` of a projection or condition, skipped (opaque) when it reads no column
        that depends on the consent or plays a role in selecting the latest event, and has no
        subquery: most of a gate's SQL is about other data."""
        for node in e.walk():
            if isinstance(node, exp.Column):
                if node.is_star:
                    return self._eval(e, sc)
                src = self._source_of(node, sc)
                if src is None:
                    return self._eval(e, sc)  # a projection alias, or an outer column
                v = src.rel.cols.get(node.name.lower())
                if v is None or v.dep or v.role or v.bad or src.nullable:
                    return self._eval(e, sc)
            elif isinstance(node, exp.Query | exp.Window):
                return self._eval(e, sc)
        return _OPAQUE

    def _eval(self, e: exp.Expression, sc: _Scope) -> Val:
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            return handler(self, e, sc)
        if isinstance(e, exp.AggFunc):
            return self._aggregate(e, sc)
        if isinstance(e, exp.Query):
            return self._subquery_value(e, sc)
        if isinstance(e, exp.Func) and _is_hash(e):
            args = [self._eval(a, sc) for a in _args(e)]
            if args and all(a.role == KEY for a in args):
                return Val(role=KEY)
            return _generic(args)
        return _generic([self._eval(a, sc) for a in _args(e)])

    def _const(self, value: object) -> Val:
        return Val((frozenset({value}),) * self.n)

    def _literal(self, e: exp.Literal, sc: _Scope) -> Val:
        if e.is_string:
            return self._const(e.this)
        try:
            return self._const(float(e.this))
        except ValueError:
            return _OPAQUE

    def _boolean(self, e: exp.Boolean, sc: _Scope) -> Val:
        return self._const(bool(e.this))

    def _null(self, e: exp.Null, sc: _Scope) -> Val:
        return self._const(None)

    def _column(self, e: exp.Column, sc: _Scope) -> Val:
        if e.is_star:
            return _OPAQUE
        return self._col(e, sc)

    def _paren(self, e: exp.Expression, sc: _Scope) -> Val:
        return self._eval(e.this, sc)

    def _map(self, args: list[Val], fn: Callable[..., Cell], *, logic: bool = False) -> Val:
        base = _generic(args)
        if not logic and any(a.vec is None for a in args):
            return base
        vec = []
        for k in range(self.n):
            cells = [None if a.vec is None else a.vec[k] for a in args]
            if not logic and any(c is None for c in cells):
                vec.append(None)
            else:
                vec.append(fn(*cells))
        return replace(base, vec=tuple(vec))

    def _connective(self, e: exp.Expression, sc: _Scope) -> Val:
        fn = _and if isinstance(e, exp.And) else _or
        return self._map([self._eval(e.this, sc), self._eval(e.expression, sc)], fn, logic=True)

    def _negation(self, e: exp.Not, sc: _Scope) -> Val:
        return self._map([self._eval(e.this, sc)], _not, logic=True)

    def _comparison(self, e: exp.Expression, sc: _Scope) -> Val:
        op = _COMPARE[type(e)]
        known = self.domain.known

        def cell(x: frozenset, y: frozenset) -> Cell:
            out: set = set()
            for u in x:
                for v in y:
                    r = op(u, v, known)
                    if isinstance(r, frozenset):
                        out |= r
                    else:
                        out.add(r)
            return frozenset(out)

        return self._map([self._eval(e.this, sc), self._eval(e.expression, sc)], cell)

    def _is(self, e: exp.Is, sc: _Scope) -> Val:
        a = self._eval(e.this, sc)
        rhs = e.expression
        if isinstance(rhs, exp.Null):
            target = None
        elif isinstance(rhs, exp.Boolean):
            target = bool(rhs.this)
        else:
            return _generic([a, self._eval(rhs, sc)])
        return self._map([a], lambda x: frozenset(_same(u, target) for u in x))

    def _sub_rel(self, sub: exp.Expression, sc: _Scope) -> Rel | None:
        while isinstance(sub, exp.Subquery):
            sub = sub.this
        if not isinstance(sub, exp.Query):
            return None
        return self._query(sub, sc.env, sc, sc.uid)

    def _in(self, e: exp.In, sc: _Scope) -> Val:
        a = self._eval(e.this, sc)
        query = e.args.get("query")
        if query is not None:
            rel = self._sub_rel(query, sc)
            if rel is None:
                return _generic([a])
            first = next(iter(rel.cols.values()), _OPAQUE)
            # No row of the subquery for such a person: FALSE.
            vec = tuple(_TFN if ok else frozenset({False}) for ok in rel.exists)
            return replace(_generic([a, first, _rel_val(rel)]), vec=vec)
        if e.args.get("unnest") or e.args.get("field"):
            return _generic([a])
        items = [self._eval(x, sc) for x in e.expressions]
        known = self.domain.known

        def cell(x: frozenset, *ys: frozenset) -> Cell:
            out: set = set()
            for u in x:
                for combo in itertools.product(*ys):
                    out |= _in_result([_cmp_eq(u, v, known) for v in combo])
            return frozenset(out)

        return self._map([a, *items], cell)

    def _exists(self, e: exp.Exists, sc: _Scope) -> Val:
        rel = self._sub_rel(e.this, sc)
        if rel is None:
            return _OPAQUE
        vec = tuple(_TF if ok else frozenset({False}) for ok in rel.exists)
        return replace(_rel_val(rel), vec=vec)

    def _subquery_value(self, e: exp.Expression, sc: _Scope) -> Val:
        rel = self._sub_rel(e, sc)
        if rel is None:
            return _OPAQUE
        return replace(_generic([*list(rel.cols.values()), _rel_val(rel)]), vec=None)

    def _coalesce(self, e: exp.Expression, sc: _Scope) -> Val:
        args = [self._eval(x, sc) for x in [e.this, *e.expressions]]

        def cell(*cells: frozenset) -> Cell:
            return frozenset(
                next((v for v in combo if v is not None), None)
                for combo in itertools.product(*cells)
            )

        return self._map(args, cell)

    def _case(self, e: exp.Case, sc: _Scope) -> Val:
        operand = e.this
        branches = []
        for if_ in e.args.get("ifs") or ():
            cond = if_.this
            if operand is not None:
                cond = exp.EQ(this=operand, expression=cond)
            branches.append((self._eval(cond, sc), self._eval(if_.args["true"], sc)))
        default = e.args.get("default")
        dv = self._eval(default, sc) if default is not None else self._const(None)
        return self._choose(branches, dv)

    def _if(self, e: exp.If, sc: _Scope) -> Val:
        false = e.args.get("false")
        dv = self._eval(false, sc) if false is not None else self._const(None)
        return self._choose([(self._eval(e.this, sc), self._eval(e.args["true"], sc))], dv)

    def _choose(self, branches: list[tuple[Val, Val]], default: Val) -> Val:
        """CASE: per domain value, the union of the branches that may be taken."""
        base = _generic([v for pair in branches for v in pair] + [default])
        vec = []
        for k in range(self.n):
            out: set | None = set()
            reach = True  # this branch may be reached
            for cond, val in branches:
                if not reach:
                    break
                c = cond.vec[k] if cond.vec is not None else None
                if c is None or True in c:
                    cell = val.vec[k] if val.vec is not None else None
                    out = None if cell is None or out is None else out | cell
                reach = c is None or bool(c - {True})
            if reach:
                cell = default.vec[k] if default.vec is not None else None
                out = None if cell is None or out is None else out | cell
            vec.append(None if out is None else frozenset(out))
        return replace(base, vec=tuple(vec))

    def _cast(self, e: exp.Cast, sc: _Scope) -> Val:
        v = self._eval(e.this, sc)
        if v.role == KEY:
            return v
        to = e.args.get("to")
        kind = to.this if isinstance(to, exp.DataType) else None
        if kind in exp.DataType.TEXT_TYPES:
            conv = _to_text
        elif kind == exp.DataType.Type.BOOLEAN:
            conv = _to_bool
        elif v.vec is not None and _all_null(v.vec):
            return v
        else:
            return _generic([v])

        def cell(x: frozenset) -> Cell:
            out = {conv(u) for u in x}
            return None if _ANY in out else frozenset(out)

        return self._map([v], cell)

    def _window(self, e: exp.Window, sc: _Scope) -> Val:
        func = e.this
        parts = [self._eval(p, sc) for p in e.args.get("partition_by") or ()]
        order = e.args.get("order")
        orders = list(order.expressions) if order else []
        if isinstance(func, exp.RowNumber | exp.Rank | exp.DenseRank) and sc.grain == EVENT:
            why = ""
            if not parts or any(p.role != KEY for p in parts):
                why = f"the ranking is not partitioned by the person key {self.subject}"
            elif not orders or not (
                orders[0].args.get("desc") and self._eval(orders[0].this, sc).role == TIME
            ):
                why = f"the ranking is not ordered by {self.time} descending first"
            elif sc.filtered:
                why = f"it ranks only the events {sc.filtered}"
            return Val(role=RANK, why=why)
        args = [self._eval(a, sc) for a in _args(func)]
        v = _generic(args + parts + [self._eval(o.this, sc) for o in orders])
        if v.dep and v.grain == EVENT and not v.bad:
            v = replace(
                v,
                bad="its consent value comes from a window over the consent events, not the "
                f"latest event per person: {_sql(e)}",
            )
        return v

    def _aggregate(self, e: exp.AggFunc, sc: _Scope) -> Val:
        agg = sc.agg
        args = [self._eval(a, sc) for a in _args(e)]
        base = _generic(args)
        if agg is None or not (base.dep or agg.grain == EVENT):
            return base
        if agg.grain == EVENT:
            if not base.dep:
                ok = isinstance(e, exp.Max) and args and args[0].role == TIME and agg.per_person
                return Val(role=MAXTIME) if ok and not agg.filtered else base
            if base.bad:
                return base
            if isinstance(e, exp.ArgMax) and len(args) >= 2 and args[1].role == TIME:
                if agg.per_person and not agg.filtered:
                    return Val(args[0].vec, True, grain=LATEST)
                why = (
                    f"the latest of filtered events ({agg.filtered})"
                    if agg.filtered
                    else "not grouped by the person key"
                )
                return replace(
                    base,
                    vec=None,
                    grain="",
                    bad=f"its consent value is {why}, not the latest event per person: {_sql(e)}",
                )
            return replace(
                base,
                vec=None,
                grain="",
                bad="its consent value is an aggregate over all consent events, not the latest "
                f"event per person: {_sql(e)}",
            )
        first = args[0] if args else _OPAQUE
        if isinstance(e, _VALUE_AGGREGATES) and first.vec is not None:
            return replace(base, vec=tuple(None if c is None else c | {None} for c in first.vec))
        return base


@dataclass
class _State:
    """What a SELECT has found so far about its rows."""

    exists: list[bool]
    bad: str = ""
    conds: list[str] = field(default_factory=list)
    latest_why: str = ""
    open: bool = False

    def absorb(self, rel: Rel, *, rows: bool = True) -> None:
        """What a source brings; ``rows``: its rows restrict ours (not a LEFT join's side)."""
        self.bad = self.bad or rel.bad
        if rows:
            self.conds += rel.conds
        self.latest_why = self.latest_why or rel.latest_why


@dataclass
class _Restriction:
    vec: list[Cell]
    bad: str = ""
    grain: str = ""
    filtered: str = ""
    conds: list[str] = field(default_factory=list)


def _generic(args: list[Val]) -> Val:
    """Any value: what is not modelled. Dependence, distrust and grain carry over."""
    dep = bad = grain = ""
    for a in args:
        if a.dep:
            dep = "y"
            if a.grain:
                grain = _merge_grain(grain, a.grain)[0]
        bad = bad or a.bad
    return Val(None, bool(dep), bad, grain=grain)


def _rel_val(rel: Rel) -> Val:
    """What a subquery's rows say about the consent."""
    return Val(None, not all(rel.exists), rel.bad, grain=rel.grain if not all(rel.exists) else "")


_MIXED = (
    "cannot prove which consent values it admits: it joins single consent events with the "
    "latest consent event per person"
)


def _all(*rows: list[bool]) -> list[bool]:
    return [all(xs) for xs in zip(*rows, strict=True)]


def _merge_grain(a: str, b: str) -> tuple[str, bool]:
    if not a or a == b:
        return b or a, False
    if not b:
        return a, False
    return EVENT, True


def _conjuncts(e: exp.Expression) -> list[exp.Expression]:
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    return [e]


def _sql(e: exp.Expression) -> str:
    return e.sql(dialect="duckdb")


def _args(e: exp.Expression) -> list[exp.Expression]:
    out = []
    for v in e.args.values():
        if isinstance(v, exp.Expression):
            out.append(v)
        elif isinstance(v, list):
            out += [x for x in v if isinstance(x, exp.Expression)]
    return out


def _has_aggregate(e: exp.Expression) -> bool:
    for node in e.walk(prune=lambda n: isinstance(n, exp.Window | exp.Query)):
        if isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window):
            return True
    return False


def _is_hash(e: exp.Func) -> bool:
    if isinstance(e, exp.MD5 | exp.SHA | exp.SHA2):
        return True
    name = e.name.lower() if isinstance(e, exp.Anonymous) else ""
    return "hash" in name or "hmac" in name


_ANY = object()


def _to_text(u: object) -> object:
    if u is None or isinstance(u, str):
        return u
    if u is OTHER:
        return OTHER
    if isinstance(u, bool):
        return str(u).lower()
    return _ANY


def _to_bool(u: object) -> object:
    if u is None or isinstance(u, bool):
        return u
    if isinstance(u, str) and u.lower() in ("true", "t", "1", "false", "f", "0"):
        return u.lower() in ("true", "t", "1")
    return _ANY


def _all_null(vec: tuple[Cell, ...]) -> bool:
    return all(c is not None and c <= {None} for c in vec)


def _same(u: object, target: object) -> bool:
    if target is None:
        return u is None
    return u is not None and u is not OTHER and u == target and type(u) is type(target)


def _cmp_eq(u: object, v: object, known: tuple) -> object:
    if u is None or v is None:
        return None
    if u is OTHER or v is OTHER:
        other = v if u is OTHER else u
        if isinstance(other, str) and other in known:
            return False
        return _TF
    if type(u) is not type(v) and not (_num(u) and _num(v)):
        return _TF
    return u == v


def _cmp_neq(u: object, v: object, known: tuple) -> object:
    r = _cmp_eq(u, v, known)
    if r is None:
        return None
    return _TF if isinstance(r, frozenset) else not r


def _cmp_null_safe(u: object, v: object, known: tuple) -> object:
    if u is None or v is None:
        return u is None and v is None
    return _cmp_eq(u, v, known)


def _cmp_null_safe_neq(u: object, v: object, known: tuple) -> object:
    r = _cmp_null_safe(u, v, known)
    return _TF if isinstance(r, frozenset) else not r


def _num(u: object) -> bool:
    return isinstance(u, int | float) and not isinstance(u, bool)


def _order(op: Callable[[object, object], bool]) -> Callable[[object, object, tuple], object]:
    def cmp(u: object, v: object, known: tuple) -> object:
        if u is None or v is None:
            return None
        if u is OTHER or v is OTHER or (type(u) is not type(v) and not (_num(u) and _num(v))):
            return _TF
        return op(u, v)

    return cmp


def _in_result(hits: list[object]) -> set:
    """``x IN (a, b, ...)`` from the comparisons ``x = a``, ``x = b``, ...: TRUE if one is,
    else NULL if one is NULL, else FALSE (each comparison may be a set of truths)."""
    options = [h if isinstance(h, frozenset) else frozenset({h}) for h in hits]
    out = set()
    for combo in itertools.product(*options) if options else [()]:
        if True in combo:
            out.add(True)
        elif None in combo:
            out.add(None)
        else:
            out.add(False)
    return out


_COMPARE: dict[type, Callable[[object, object, tuple], object]] = {
    exp.EQ: _cmp_eq,
    exp.NEQ: _cmp_neq,
    exp.NullSafeEQ: _cmp_null_safe,
    exp.NullSafeNEQ: _cmp_null_safe_neq,
    exp.GT: _order(lambda u, v: u > v),
    exp.GTE: _order(lambda u, v: u >= v),
    exp.LT: _order(lambda u, v: u < v),
    exp.LTE: _order(lambda u, v: u <= v),
}

_VALUE_AGGREGATES = (
    exp.Max, exp.Min, exp.LogicalOr, exp.LogicalAnd, exp.AnyValue, exp.First, exp.Last,
    exp.ArgMax, exp.ArgMin,
)  # fmt: skip

_HANDLERS: dict[type, Callable[[GateSql, exp.Expression, _Scope], Val]] = {
    exp.Literal: GateSql._literal,
    exp.Boolean: GateSql._boolean,
    exp.Null: GateSql._null,
    exp.Column: GateSql._column,
    exp.Paren: GateSql._paren,
    exp.Alias: GateSql._paren,
    exp.And: GateSql._connective,
    exp.Or: GateSql._connective,
    exp.Not: GateSql._negation,
    exp.Is: GateSql._is,
    exp.In: GateSql._in,
    exp.Exists: GateSql._exists,
    exp.Coalesce: GateSql._coalesce,
    exp.Case: GateSql._case,
    exp.If: GateSql._if,
    exp.Cast: GateSql._cast,
    exp.TryCast: GateSql._cast,
    exp.Window: GateSql._window,
    exp.Subquery: GateSql._subquery_value,
    **{t: GateSql._comparison for t in _COMPARE},
}
