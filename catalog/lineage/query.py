"""Column lineage of one SQL query, DIRECT and INDIRECT, in OpenLineage's terms.

The query is qualified once against the schema (sqlglot ``qualify``: identifiers normalised,
tables and columns qualified, ``*`` expanded), its scopes are built once, and one bottom-up pass
computes for every scope the lineage of each output column (DIRECT sources with their subtype
and masking, column-level INDIRECT sources) and the scope's dataset-level INDIRECT sources.
Child scopes (CTEs, derived tables, subqueries, set-operation branches) are composed into their
parents by substitution, so nothing is ever re-qualified per column.

Semantics (pinned by the fixtures in ``tests/lineage/sql``):

- DIRECT subtype: IDENTITY for a bare column reference (through any renames), AGGREGATION when
  an aggregate is on the path, else TRANSFORMATION; composing keeps the strongest. ``masking``
  when a hash / HMAC function is on the path (OR along a chain); when a column reaches an
  output by several routes, the output keeps the strongest subtype and masks only if every
  route masks. ``keyed`` (not in OpenLineage) when the masking is a keyed hash (a function
  named ``*hmac*``): pseudonymisation, where a plain hash of a small value space (an 11-digit
  identity number) is reversed by hashing every candidate; keyed along a chain if any hash on
  it is keyed, across routes only if every route is.
- Column-level INDIRECT: CONDITIONAL (CASE / IF conditions, a simple CASE's operand, an
  aggregate's FILTER clause, and every column of a subquery used there), WINDOW (PARTITION BY
  / ORDER BY), SORT (an ordered aggregate's ordering column), GROUP_BY (``grouping(c)``),
  and the filters / joins of a scalar subquery in the select list (FILTER / JOIN for that
  column only). Window navigation functions (lag, first_value, rank ...) are
  TRANSFORMATION, aggregates over a window AGGREGATION.
- Dataset-level INDIRECT: JOIN (ON columns; ``restricts_rows`` unless the join is LEFT /
  RIGHT / FULL), FILTER (WHERE, HAVING, QUALIFY, with every column of IN / EXISTS / scalar
  subqueries there), GROUP_BY (GROUP BY, DISTINCT, DISTINCT ON, distinct set operations),
  SORT (ORDER BY at any level). A child's dataset-level inputs propagate to the parent; through
  the optional side of an outer join they no longer restrict rows. A column used in an
  INDIRECT position passes all its own inputs on with that position's subtype.
- Set operations: by position (UNION BY NAME by name). UNION: a branch's condition restricts
  the result's rows only if the other branch applies it too. INTERSECT: both branches' columns
  also FILTER; EXCEPT: values come from the left branch, the right branch's columns FILTER it.
- ``WITH RECURSIVE``: the recursive reference is widened to the CTE's result until a fixpoint.
- DuckDB: ``* EXCLUDE / REPLACE``, ``COLUMNS(regex | [names] | *)``, lambdas, comprehensions,
  UNNEST, VALUES, range() / generate_series(); a repeated output name ``x`` becomes ``x_1``
  (as DuckDB names it). Output names are the database's: an alias keeps its case as written
  (names still resolve case-insensitively), a column reference takes its source column's name
  (DuckDB) or is named as written (Spark). DuckDB names an unaliased expression by its own
  parser's rendering (``sum(x)``, ``count_star()``, ``(x + 1)``, ``CAST(x AS INTEGER)``),
  Spark by the constructs verified against Spark (``sum(x)``, ``count(1)``, ``(x + 1)``);
  any other unaliased expression, and one inside a CTE or derived table, fails closed asking
  for an alias. PIVOT, LATERAL VIEW and table functions that read files fail closed.
- Never silent (PRIVACY.md rule 6): whatever the database resolves to columns depends on all
  of them. A whole row used as a value (a bare relation name that is no column, as DuckDB
  resolves it; ``alias.*`` or ``*`` inside any function or constructor) depends on every
  column of the row (of a CTE / derived table: every output column with its lineage).
  ``count(*)``, ``count(1)``, ``count()``, any aggregate over constants: AGGREGATION of every
  column of the scope's row sources. A row source an output column has no input from (``select
  1 as one from h``, ``from c cross join h``) gives it one, from the columns read of that source
  (else all): a dataset-level JOIN for a join member, a column-level FILTER for the only source;
  neither restricts rows. ``EXISTS`` over a subquery without its own condition reads its
  columns (FILTER, not restricting).

Constructs and decisions (fixtures ``tests/lineage/sql/NN_*.sql``; ``eNN_*`` fail closed):

================================================  ==========================================
construct                                         decision
================================================  ==========================================
``to_json(h)``, ``h``, ``hash(h)``, ``cast(h)``   every column of h, TRANSFORMATION (hash:
                                                  masking)
``list(h)``, ``array_agg(h)``                     every column of h, AGGREGATION
``struct_pack(h.*)``, ``row(h.*)``, ``[h.*]``,    every column of h; ``*``: of every row
Spark ``struct(h.*)``; ``*`` in a function        source
CTE / subquery alias as a column                  every output column, with its lineage
``count(*)``, ``count(1)``, ``count()``,          AGGREGATION of every column of the row
``sum(1)``                                        sources
cross / comma / POSITIONAL join, unread source    row edge (JOIN / FILTER), not restricting
ASOF join                                         its ON (and MATCH_CONDITION): JOIN
lambdas (1 or 2 parameters), comprehensions,      the list argument; a parameter never
``filter``, ``list_reduce``, Spark ``aggregate``  resolves to or hides an outer column
``s.field``, ``s['f']``, ``struct_extract``, map  TRANSFORMATION of the struct / map column
``unnest(list)`` (select list or FROM), Spark     TRANSFORMATION of the list; the list
``explode``, ``generate_series(1, p.n)`` in FROM  decides the row count: FILTER (select
                                                  list) / JOIN (FROM), not restricting
``unnest(struct)``, ``recursive :=``,             fail closed: the output columns are the
``max_depth``, ``s.*`` over a STRUCT column       fields
Spark ``posexplode(x) AS (p, v)``, ``stack``      every named column from all arguments
generators without names, LATERAL VIEW            fail closed
``arg_max(v, ts)``, ``max_by``, ``string_agg(v    v AGGREGATION, ts column-level INDIRECT
ORDER BY ts)``, ``list`` / ``first`` ORDER BY     SORT
``percentile_cont(p) WITHIN GROUP (ORDER BY v)``  v AGGREGATION
GROUP BY CUBE / ROLLUP / GROUPING SETS            GROUP_BY of each column
``grouping()``, ``grouping_id()``                 column-level INDIRECT GROUP_BY of its
                                                  columns (the grouping set, not a value)
window FILTER, ``count(*) OVER``,                 CONDITIONAL; whole rows; row edge
``row_number() OVER ()``
LIMIT / OFFSET                                    ORDER BY: SORT; a computed limit: FILTER
Spark SORT / CLUSTER / DISTRIBUTE BY              SORT
TABLESAMPLE, USING SAMPLE, FROM-first, ``AT``     plain reads (no column decides)
``EXISTS`` / ``IN`` / ``ANY`` / scalar subquery   FILTER (select list: that column only)
IN list, BETWEEN, COALESCE, TRY_CAST, json        TRANSFORMATION
functions, map / struct literals, ``any_value``
VALUES in joins, recursive CTE, UNION BY NAME     constants; fixpoint; by name
PIVOT / UNPIVOT (clause or statement),            fail closed
MATCH_RECOGNIZE, CONNECT BY, ROWS FROM, CHANGES,
CORRESPONDING / outer set operations, table
functions that read files, DESCRIBE / SHOW
================================================  ==========================================

>>> schema = {"raw": {"holdings": {"pid": "int", "value": "double"},
...                   "consents": {"pid": "int", "granted": "boolean"}}}
>>> q = query_lineage(
...     "select h.pid, sum(h.value) as total from raw.holdings as h "
...     "where h.pid in (select pid from raw.consents where granted) group by h.pid",
...     schema=schema)
>>> q.columns
('pid', 'total')
>>> [(d.column, str(d.subtype)) for d in q.fields["total"]]
[('value', 'AGGREGATION')]
>>> sorted((d.table, d.column, str(d.subtype)) for d in q.dataset)[:2]
[('raw.consents', 'granted', 'FILTER'), ('raw.consents', 'pid', 'FILTER')]
"""

from __future__ import annotations

import functools
import json
import re
import string
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import OptimizeError, ParseError, SchemaError, SqlglotError, TokenError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import TokenType

from catalog.lineage.errors import LineageError
from catalog.lineage.graph import EdgeType, Subtype
from catalog.lineage.schema import Tables, normalized
from catalog.memory import gc_paused

__all__ = [
    "Dependency",
    "QueryLineage",
    "Tables",
    "lineage_of_query",
    "normalized",
    "parse_query",
    "query_lineage",
]

# DIRECT subtypes by rank: composing takes the maximum (IDENTITY∘X = X,
# TRANSFORMATION∘AGGREGATION = AGGREGATION).
_IDENTITY, _TRANSFORMATION, _AGGREGATION = 0, 1, 2
_DIRECT_SUBTYPES = (Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION)

# Masking levels: composing along a chain takes the maximum, across routes the minimum.
_UNMASKED, _HASHED, _KEYED = 0, 1, 2

# A context says how a column reached in an expression feeds the value being computed:
# (True, rank, masking level) for DIRECT, (False, subtype, restricts_rows) for INDIRECT.
_Ctx = tuple[bool, Any, Any]
_START: _Ctx = (True, _IDENTITY, _UNMASKED)
_CONDITIONAL: _Ctx = (False, Subtype.CONDITIONAL, False)
_WINDOW: _Ctx = (False, Subtype.WINDOW, False)
_FILTER: _Ctx = (False, Subtype.FILTER, True)
_GROUP_BY: _Ctx = (False, Subtype.GROUP_BY, False)
_SORT: _Ctx = (False, Subtype.SORT, False)
_ORDER_KEY: _Ctx = (False, Subtype.SORT, False)  # column-level: orders an aggregate's input

# Table functions whose output is computed from their arguments alone.
_TRIVIAL_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "generate_subscripts", "unnest", "explode"}
)
_OUTER_SIDES = frozenset({"LEFT", "RIGHT", "FULL"})
_REWRITE = "rewrite it with joins, UNNEST in the FROM clause, CASE or window functions"
# Arguments of a FROM / JOIN relation or a SELECT the engine does not model: they fail closed.
_UNSUPPORTED_RELATION_ARGS = {
    "laterals": "LATERAL VIEW",
    "rows_from": "ROWS FROM (...)",
    "changes": "CHANGES (...)",
    "match": "MATCH_RECOGNIZE",
    "connect": "CONNECT BY",
}
_UNSUPPORTED_SELECT_ARGS = {"match": "MATCH_RECOGNIZE", "connect": "CONNECT BY"}
# Set-returning functions of the select list: each input row becomes as many rows as they
# return, so their arguments decide the rows of the result.
_GENERATORS = (exp.Unnest, exp.Explode, exp.ExplodeOuter, exp.Inline, exp.Stack)
# Aggregates of a value ordered by another column: (value argument, ordering argument).
_ORDERED_PICK = (exp.ArgMax, exp.ArgMin)
# Window functions that pick or rank rows rather than aggregate them (sqlglot types them as
# aggregates): their argument is TRANSFORMATION.
_WINDOW_NAVIGATION = (
    exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue, exp.Rank, exp.DenseRank,
    exp.Ntile, exp.PercentRank, exp.CumeDist,
)  # fmt: skip


@dataclass(frozen=True, order=True)
class Dependency:
    """One input of an output column (or of the whole result, in ``QueryLineage.dataset``).

    ``table`` is the source table as qualified in the schema mapping
    (``raw_markets.securities_holdings``), ``column`` its normalised column name.
    """

    table: str
    column: str
    type: EdgeType
    subtype: Subtype
    masking: bool = False
    restricts_rows: bool = False
    keyed: bool = False  # the masking is a keyed hash (HMAC)


@dataclass(frozen=True)
class QueryLineage:
    """The engine's result for one query.

    ``columns``: the output columns in order; ``fields``: per output column its DIRECT inputs
    and its column-level INDIRECT inputs (CONDITIONAL, WINDOW, and the filters of a scalar
    subquery); ``dataset``: INDIRECT inputs that shape every row (JOIN, FILTER, GROUP_BY,
    SORT); ``tables``: every schema table the query reads.
    """

    columns: tuple[str, ...]
    fields: Mapping[str, tuple[Dependency, ...]]
    dataset: tuple[Dependency, ...]
    tables: tuple[str, ...] = ()

    def dependencies(self) -> Iterator[tuple[str | None, Dependency]]:
        """Every (output column or None for dataset-level, dependency) pair."""
        for name in self.columns:
            for dep in self.fields[name]:
                yield name, dep
        for dep in self.dataset:
            yield None, dep


# -- lineage values ----------------------------------------------------------------------------


class _Lin:
    """Lineage of one value: DIRECT (table, column) -> (rank, masking level) and INDIRECT
    (table, column, subtype) -> restricts_rows."""

    __slots__ = ("direct", "indirect")

    def __init__(self) -> None:
        self.direct: dict[tuple[str, str], tuple[int, int]] = {}
        self.indirect: dict[tuple[str, str, Subtype], bool] = {}

    def add_direct(self, key: tuple[str, str], rank: int, masking: int) -> None:
        old = self.direct.get(key)
        if old is None:
            self.direct[key] = (rank, masking)
        else:  # another route: the strongest subtype; masked only if every route masks
            self.direct[key] = (max(old[0], rank), min(old[1], masking))

    def add_indirect(self, key: tuple[str, str, Subtype], restricts: bool) -> None:
        self.indirect[key] = self.indirect.get(key, False) or restricts

    def add_column(self, table: str, column: str, ctx: _Ctx) -> None:
        """Add the schema column ``table.column`` reached in context ``ctx``."""
        if ctx[0]:
            self.add_direct((table, column), ctx[1], ctx[2])
        else:
            self.add_indirect((table, column, ctx[1]), ctx[2])

    def add(self, other: _Lin, ctx: _Ctx) -> None:
        """Add ``other`` reached in context ``ctx``."""
        if ctx[0]:
            rank, masking = ctx[1], ctx[2]
            for key, (r, m) in other.direct.items():
                self.add_direct(key, r if r > rank else rank, m if m > masking else masking)
            for key3, restricts in other.indirect.items():
                self.add_indirect(key3, restricts)
        else:
            subtype, restricts = ctx[1], ctx[2]
            for t, c in other.direct:
                self.add_indirect((t, c, subtype), restricts)
            for t, c, _ in other.indirect:
                self.add_indirect((t, c, subtype), restricts)


@dataclass
class _ScopeLin:
    names: list[str]
    lins: list[_Lin]
    dataset: _Lin
    # Columns by name; None marks a name two output columns share.
    by_name: dict[str, _Lin | None] = field(default_factory=dict)
    # Sources whose column names are not known (an unaliased UNNEST): any name resolves here.
    wildcard: _Lin | None = None
    # Some row source of the scope has no dataset-level edge: which rows exist is told only
    # by the output columns (an EXISTS over it must read them).
    rows_open: bool = False
    _tables: frozenset[str] | None = None

    def tables(self) -> frozenset[str]:
        """The tables any column or the rows of this result depend on."""
        if self._tables is None:
            found = {key[0] for lin in self.lins for key in (*lin.direct, *lin.indirect)}
            found.update(key[0] for key in self.dataset.indirect)
            if self.wildcard is not None:
                found.update(k[0] for k in (*self.wildcard.direct, *self.wildcard.indirect))
            self._tables = frozenset(found)
        return self._tables

    def __post_init__(self) -> None:
        for name, lin in zip(self.names, self.lins, strict=True):
            self.by_name[name] = None if name in self.by_name else lin


# -- the engine --------------------------------------------------------------------------------


def _same(a: _ScopeLin, b: _ScopeLin) -> bool:
    return (
        a.names == b.names
        and a.dataset.indirect == b.dataset.indirect
        and all(
            x.direct == y.direct and x.indirect == y.indirect
            for x, y in zip(a.lins, b.lins, strict=True)
        )
    )


def _touches_all(lin: _Lin, tables: frozenset[str]) -> bool:
    """Whether ``lin`` has an input from every one of ``tables``."""
    if len(tables) == 1:
        (table,) = tables
        return any(key[0] == table for key in lin.direct) or any(
            key[0] == table for key in lin.indirect
        )
    seen = {key[0] for key in lin.direct}
    seen.update(key[0] for key in lin.indirect)
    return tables <= seen


def _row_ctx(ctx: _Ctx) -> _Ctx:
    """A whole row used as a value: at least a TRANSFORMATION of each of its columns."""
    if ctx[0] and ctx[1] < _TRANSFORMATION:
        return (True, _TRANSFORMATION, ctx[2])
    return ctx


def _masking_level(node: exp.Func) -> int:
    """_KEYED for a keyed hash (HMAC), _HASHED for another hash, else _UNMASKED."""
    name = node.name if isinstance(node, exp.Anonymous) else type(node).__name__
    name = name.lower()
    if "hmac" in name:
        return _KEYED
    return _HASHED if name.startswith(("md5", "sha")) or "hash" in name else _UNMASKED


def _relation_alias(node: exp.Expr) -> str:
    alias = node.args.get("alias")
    name = node.alias
    if not name and isinstance(alias, exp.TableAlias) and len(alias.columns) == 1:
        name = alias.columns[0].name
    if not name and isinstance(node, exp.Table):
        name = node.name
    return name


def _is_derived(node: exp.Expr) -> bool:
    return isinstance(node, exp.Subquery) and bool(
        node.alias or node.args.get("pivots") or isinstance(node.this, exp.UNWRAPPED_QUERIES)
    )


def _join_tree(select: exp.Select) -> tuple[list[str], set[str], list[tuple[exp.Expr, bool]]]:
    """The source aliases of a SELECT's FROM / JOIN tree, those on the optional side of an
    outer join, and the join conditions with whether each can remove rows."""
    optional: set[str] = set()
    conditions: list[tuple[exp.Expr, bool]] = []

    def relation(node: exp.Expr) -> list[str]:
        if node.args.get("pivots"):
            raise LineageError(
                "PIVOT / UNPIVOT is not supported by the lineage engine; write the pivot with "
                "CASE expressions or aggregate FILTER clauses"
            )
        if isinstance(node, exp.Subquery) and not _is_derived(node):
            return relation(node.this)  # a parenthesised join tree
        for key, what in _UNSUPPORTED_RELATION_ARGS.items():
            if node.args.get(key):
                raise LineageError(f"{what} is not supported by the lineage engine; {_REWRITE}")
        members = [_relation_alias(node)]
        joins = node.args.get("joins") if isinstance(node, exp.Table) else None
        return chain(members, joins or [])

    def chain(members: list[str], joins: list[exp.Join]) -> list[str]:
        members = list(members)
        for join in joins:
            rhs = relation(join.this)
            side = (join.side or "").upper()
            if (join.kind or "").upper() == "POSITIONAL":
                side = "FULL"  # row i of each side, padded with NULLs: both sides optional
            if side == "LEFT":
                optional.update(rhs)
            elif side == "RIGHT":
                optional.update(members)
            elif side == "FULL":
                optional.update(members)
                optional.update(rhs)
            for key in ("on", "match_condition"):
                on = join.args.get(key)
                if on is not None:
                    conditions.append((on, side not in _OUTER_SIDES))
            if join.args.get("using"):
                raise LineageError(
                    "a JOIN ... USING could not be resolved to its tables; write the join "
                    "condition with ON"
                )
            members.extend(rhs)
        return members

    from_ = select.args.get("from_")
    first = relation(from_.this) if from_ else []
    members = chain(first, select.args.get("joins") or [])
    return members, optional, conditions


class _State:
    """Per-scope lookups for the expression visitor."""

    __slots__ = ("_members", "aliases", "generators", "scope", "subqueries")

    def __init__(self, scope: Scope):
        self.scope = scope
        self.subqueries = {id(s.expression): s for s in scope.subquery_scopes}
        self.aliases: dict[str, _Lin] = {}
        self._members: list[str] | None = None
        self.generators: list[exp.Expr] = []  # UNNEST / explode() met in this scope

    def members(self) -> list[str]:
        """The aliases of the scope's row sources (FROM and JOIN), none for a non-SELECT."""
        if self._members is None:
            select = self.scope.expression
            self._members = _join_tree(select)[0] if isinstance(select, exp.Select) else []
        return self._members

    def subquery(self, node: exp.Expr) -> Scope | None:
        return self.subqueries.get(id(node.unnest() if isinstance(node, exp.Subquery) else node))


def _visible_source(st: _State, alias: str) -> exp.Table | Scope | None:
    """The source named ``alias`` in the current scope or the nearest enclosing one."""
    scope: Scope | None = st.scope
    while scope is not None:
        source = scope.sources.get(alias)
        if source is not None:
            return source
        scope = scope.parent
    return None


class _Engine:
    def __init__(self, tables: Tables, *, strict: bool, has_columns: bool = True):
        self.tables = tables
        self.strict = strict
        self.has_columns = has_columns  # whether DuckDB COLUMNS(...) occurs at all
        self.memo: dict[int, _ScopeLin] = {}
        self.read: dict[str, None] = {}
        self.root_scope: Scope | None = None
        self.shown: dict[int, list[str]] = {}  # display names of a CTE / derived table's scope

    # -- scopes --------------------------------------------------------------------------
    def scope_lineage(self, scope: Scope) -> _ScopeLin:
        key = id(scope.expression)
        result = self.memo.get(key)
        if result is None:
            result = self._compute(scope)
            self.memo[key] = result
        return result

    def _compute(self, scope: Scope) -> _ScopeLin:
        node = scope.expression
        if isinstance(node, exp.Select):
            return self._select(scope)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(scope)
        if isinstance(node, exp.Unnest):
            return self._unnest(scope)
        if isinstance(node, exp.Values):
            return self._values(scope)
        if isinstance(node, exp.Lateral):
            return self._lateral(scope)
        if isinstance(node, exp.Subquery):
            inner = scope.sources.get(_relation_alias(node))
            if isinstance(inner, Scope):
                return self.scope_lineage(inner)
        raise LineageError(
            f"{node.key.upper()} ({node.sql()[:60]}) is not supported by the lineage engine; "
            "rewrite it as a SELECT"
        )

    def _select(self, scope: Scope) -> _ScopeLin:
        select: exp.Select = scope.expression
        st = _State(scope)
        if select.args.get("laterals"):
            raise LineageError("LATERAL VIEW is not supported; use UNNEST in the FROM clause")
        for key, what in _UNSUPPORTED_SELECT_ARGS.items():
            if select.args.get(key):
                raise LineageError(f"{what} is not supported by the lineage engine; {_REWRITE}")
        members, optional, conditions = _join_tree(select)
        st._members = members

        dataset = _Lin()
        for alias in members:
            source = scope.sources.get(alias)
            if isinstance(source, Scope):
                child = self.scope_lineage(source)
                keep = alias not in optional
                for key3, restricts in child.dataset.indirect.items():
                    dataset.add_indirect(key3, restricts and keep)
            elif isinstance(source, exp.Table):
                self._table(source)
            elif source is None and alias:
                raise LineageError(f"the source {alias} cannot be resolved; check the FROM clause")

        names: list[str] = []
        lins: list[_Lin] = []
        for name, value in self._projections(scope, select):
            lin = _Lin()
            self._visit(value, _START, lin, st)
            names.append(name)
            lins.append(lin)
        # unnest(x) in the select list: x decides how many rows each input row becomes.
        for generator in dict.fromkeys(st.generators):
            self._visit(generator, (False, Subtype.FILTER, False), dataset, st)

        for condition, restricts in conditions:
            self._visit(condition, (False, Subtype.JOIN, restricts), dataset, st)

        st.aliases = {name: lin for name, lin in zip(names, lins, strict=True)}
        for key in ("prewhere", "where", "having", "qualify"):
            clause = select.args.get(key)
            if clause is not None:
                self._visit(clause.this, _FILTER, dataset, st)

        group = select.args.get("group")
        if group is not None:
            if group.args.get("all"):
                for projection, lin in zip(select.expressions, lins, strict=False):
                    if not projection.find(exp.AggFunc):
                        dataset.add(lin, _GROUP_BY)
            self._visit_positional(group.expressions, lins, _GROUP_BY, dataset, st)
            for key in ("grouping_sets", "cube", "rollup"):
                for node in group.args.get(key) or []:
                    self._visit(node, _GROUP_BY, dataset, st)

        distinct = select.args.get("distinct")
        if distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                self._visit(on, _GROUP_BY, dataset, st)
            else:
                for lin in lins:
                    dataset.add(lin, _GROUP_BY)

        order = select.args.get("order")
        if order is not None:
            self._visit_positional([o.this for o in order.expressions], lins, _SORT, dataset, st)
        for key in ("sort", "cluster", "distribute"):  # Spark: SORT / CLUSTER / DISTRIBUTE BY
            clause = select.args.get(key)
            if clause is not None:
                items = [o.this if isinstance(o, exp.Ordered) else o for o in clause.expressions]
                self._visit_positional(items, lins, _SORT, dataset, st)
        for key in ("limit", "offset"):  # a computed LIMIT decides how many rows remain
            clause = select.args.get(key)
            if clause is not None:
                self._visit(clause, (False, Subtype.FILTER, False), dataset, st)
        rows_open = self._row_presence(scope, members, lins, dataset)
        return _ScopeLin(names, lins, dataset, rows_open=rows_open)

    def _row_presence(
        self, scope: Scope, members: list[str], lins: list[_Lin], dataset: _Lin
    ) -> bool:
        """Which rows exist depends on every row source, also one none of whose columns is
        read (``select 1 as one from h``, ``from c cross join h``): an output column that
        depends on no column of a source gets an edge from it, from the columns the scope reads
        of it (else all its columns). A join member's edge is dataset-level JOIN, the only
        source's a FILTER into the columns that lack it; neither restricts rows (they prove
        no gate). Whether some source has no dataset-level edge at all is returned."""
        covered = {key[0] for key in dataset.indirect}
        open_ = False
        for alias in members:
            source = scope.sources.get(alias)
            if isinstance(source, Scope) and isinstance(source.expression, exp.Unnest):
                # a lateral UNNEST: the list decides how many rows each row becomes
                child = self.scope_lineage(source)
                for lin in (*child.lins, child.wildcard or _Lin()):
                    dataset.add(lin, (False, Subtype.JOIN, False))
            elif isinstance(source, exp.Table) and isinstance(source.this, exp.Func):
                # generate_series(1, p.n), range(p.n): the arguments decide the rows
                self._visit(source.this, (False, Subtype.JOIN, False), dataset, _State(scope))
                continue
            if isinstance(source, Scope):
                base = self.scope_lineage(source).tables()
            elif isinstance(source, exp.Table) and not isinstance(source.this, exp.Func):
                canonical = self._table(source)
                base = frozenset((canonical,)) if canonical is not None else frozenset()
            else:
                continue  # range(), generate_series(): no table behind it
            missing = base - covered
            if not missing:
                continue
            open_ = True
            lacking = [lin for lin in lins if not _touches_all(lin, missing)]
            if not lacking and lins:
                continue
            presence = self._presence_of(scope, alias, base, lins, dataset)
            if len(members) > 1:
                dataset.add(presence, (False, Subtype.JOIN, False))
                covered.update(missing)
            else:
                for lin in lacking:
                    lin.add(presence, (False, Subtype.FILTER, False))
        return open_

    def _presence_of(
        self, scope: Scope, alias: str, base: frozenset[str], lins: list[_Lin], dataset: _Lin
    ) -> _Lin:
        """The columns that stand for the rows of one source (whose tables are ``base``): the
        columns of those tables the scope reads, else the source's whole row."""
        out = _Lin()
        for lin in (*lins, dataset):
            for key in lin.direct:
                if key[0] in base:
                    out.add_direct(key, _IDENTITY, _UNMASKED)
            for t, c, _ in lin.indirect:
                if t in base:
                    out.add_direct((t, c), _IDENTITY, _UNMASKED)
        if {t for t, _ in out.direct} != base:
            self._whole_row(alias, _START, out, _State(scope))
        return out

    def _projections(self, scope: Scope, select: exp.Select) -> list[tuple[str, exp.Expr]]:
        """(output name, value expression) of each output column, ``COLUMNS(...)`` expanded."""
        out: list[tuple[str, exp.Expr]] = []
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
            ):
                self._unexpanded_star(scope, select)  # fails closed unless strict=False
                out.append(("*", self._star_placeholder(scope, select, projection)))
                continue
            if isinstance(projection, exp.Dot) and isinstance(projection.expression, exp.Star):
                raise LineageError(
                    f"{projection.sql(dialect=self.tables.dialect)[:60]} expands the fields of a "
                    "STRUCT, whose names the lineage engine cannot know; select the fields by "
                    "name"
                )
            if isinstance(projection, exp.Aliases):  # Spark: posexplode(x) AS (pos, value)
                out.extend((a.name, projection.this) for a in projection.expressions)
                continue
            value = projection.this if isinstance(projection, exp.Alias) else projection
            columns = value.find(exp.Columns) if self.has_columns else None
            if columns is None:
                out.append((projection.alias_or_name, value))
                continue
            if columns.args.get("unpack") or value.find(exp.Query):
                raise LineageError(
                    f"{value.sql(dialect=self.tables.dialect)[:60]} cannot be expanded; list "
                    "the columns explicitly"
                )
            for alias, name in self._columns_matching(scope, select, columns):
                column = exp.column(name, table=alias, quoted=True)
                if value is columns:
                    out.append((name, column))
                    continue
                copy = value.copy()
                copy.find(exp.Columns).replace(column)
                out.append((name, copy))
        return out

    def _columns_matching(
        self, scope: Scope, select: exp.Select, columns: exp.Columns
    ) -> list[tuple[str, str]]:
        """The (source alias, column) pairs DuckDB's ``COLUMNS(...)`` selects."""
        arg = columns.this
        candidates = [
            (alias, name)
            for alias in _join_tree(select)[0]
            for name in self._source_columns(scope, alias)
        ]
        if isinstance(arg, exp.Star):
            excluded = {e.name for e in arg.args.get("except_") or []}
            if arg.args.get("replace") or arg.args.get("rename"):
                raise LineageError("COLUMNS(* REPLACE / RENAME) is not supported; list the columns")
            found = [(a, n) for a, n in candidates if n not in excluded]
        elif isinstance(arg, exp.Column) and isinstance(arg.this, exp.Star):
            found = [(a, n) for a, n in candidates if a == arg.table]
        elif isinstance(arg, exp.Literal) and arg.is_string:
            try:
                pattern = re.compile(arg.name)
            except re.error as e:
                raise LineageError(f"COLUMNS('{arg.name}') is not a valid regex ({e})") from None
            found = [(a, n) for a, n in candidates if pattern.search(n)]
        elif isinstance(arg, exp.Array) and all(
            isinstance(e, exp.Literal) and e.is_string for e in arg.expressions
        ):
            wanted = [e.name for e in arg.expressions]
            found = [(a, n) for w in wanted for a, n in candidates if n == w]
        else:
            raise LineageError(
                f"{columns.sql(dialect=self.tables.dialect)[:60]} cannot be expanded; use a "
                "regular expression, a list of names or *, or list the columns explicitly"
            )
        if not found:
            raise LineageError(
                f"{columns.sql(dialect=self.tables.dialect)[:60]} matches no column; fix the "
                "pattern"
            )
        return found

    def _source_columns(self, scope: Scope, alias: str) -> list[str]:
        source = scope.sources.get(alias)
        if isinstance(source, Scope):
            child = self.scope_lineage(source)
            if child.wildcard is not None:
                raise LineageError(f"the columns of {alias} are not known; alias them")
            return child.names
        if isinstance(source, exp.Table):
            canonical = self._table(source)
            if canonical is not None and self.tables.columns.get(canonical):
                return list(self.tables.columns[canonical])
            raise LineageError(
                f"the columns of {canonical or source.name} are not known; declare the columns "
                "in the source YAML"
            )
        raise LineageError(f"the source {alias} cannot be resolved; check the FROM clause")

    def _visit_positional(
        self, nodes: list[exp.Expr], lins: list[_Lin], ctx: _Ctx, acc: _Lin, st: _State
    ) -> None:
        """GROUP BY / ORDER BY items: ``1`` is the first output column."""
        for node in nodes:
            if isinstance(node, exp.Literal) and node.is_int:
                position = int(node.name)
                if not 1 <= position <= len(lins):
                    raise LineageError(f"position {position} is not an output column")
                acc.add(lins[position - 1], ctx)
            else:
                self._visit(node, ctx, acc, st)

    def _set_operation(self, scope: Scope) -> _ScopeLin:
        result = self._set_operation_once(scope)
        cte = scope.expression.parent
        if not (isinstance(cte, exp.CTE) and cte.parent.args.get("recursive")):
            return result
        # WITH RECURSIVE: the recursive branch's self-reference resolves to the base branch;
        # widen that to the whole result until nothing changes (lineage only grows).
        base, step = scope.set_operation_scopes
        for _ in range(64):
            if _same(self.memo[id(base.expression)], result):
                return result
            self.memo[id(base.expression)] = result
            for inner in step.traverse():
                self.memo.pop(id(inner.expression), None)
            result = self._set_operation_once(scope)
        raise LineageError("the lineage of a recursive CTE does not converge; simplify it")

    def _set_operation_once(self, scope: Scope) -> _ScopeLin:
        node: exp.SetOperation = scope.expression
        if node.args.get("on") or node.args.get("side") or node.args.get("kind"):
            raise LineageError(
                f"{node.key.upper()} with CORRESPONDING / ON / an outer side is not supported by "
                "the lineage engine; select the same columns in each branch"
            )
        left, right = (self.scope_lineage(s) for s in scope.set_operation_scopes)
        if node.args.get("by_name"):
            names = [*left.names, *(n for n in right.names if n not in left.by_name)]
            pairs = [(left.by_name.get(n), right.by_name.get(n)) for n in names]
        else:
            if len(left.names) != len(right.names):
                raise LineageError(
                    f"the branches of a {node.key.upper()} have {len(left.names)} and "
                    f"{len(right.names)} columns; select the same number of columns in each"
                )
            names = list(left.names)
            pairs = list(zip(left.lins, right.lins, strict=True))

        dataset = _Lin()
        if isinstance(node, exp.Union):
            # A row of a UNION comes from one branch: a condition restricts every row of the
            # result only where both branches apply it (a consent filter in one branch does
            # not gate the rows of the other).
            l_in, r_in = left.dataset.indirect, right.dataset.indirect
            for key3 in (*l_in, *r_in):
                dataset.indirect[key3] = l_in.get(key3, False) and r_in.get(key3, False)
        else:
            dataset.add(left.dataset, _START)
        lins: list[_Lin] = []
        if isinstance(node, exp.Except):
            # The right branch only removes rows of the left one.
            for lin in right.lins:
                dataset.add(lin, _FILTER)
            dataset.add(right.dataset, (False, Subtype.FILTER, False))
            lins = [lin if lin is not None else _Lin() for lin, _ in pairs]
        else:
            if isinstance(node, exp.Intersect):  # a row must pass both branches' conditions
                dataset.add(right.dataset, _START)
            for a, b in pairs:
                lin = _Lin()
                for side in (a, b):
                    if side is not None:
                        lin.add(side, _START)
                lins.append(lin)
            if isinstance(node, exp.Intersect):
                for lin in (*left.lins, *right.lins):
                    dataset.add(lin, _FILTER)
        if node.args.get("distinct"):
            for lin in lins:
                dataset.add(lin, _GROUP_BY)
        order = node.args.get("order")
        if order is not None:
            st = _State(scope)
            st.aliases = dict(zip(names, lins, strict=True))
            self._visit_positional([o.this for o in order.expressions], lins, _SORT, dataset, st)
        return _ScopeLin(names, lins, dataset, rows_open=left.rows_open or right.rows_open)

    def _unnest(self, scope: Scope) -> _ScopeLin:
        node: exp.Unnest = scope.expression
        st = _State(scope)
        args = []
        for arg in node.expressions:
            lin = _Lin()
            self._visit(arg, (True, _TRANSFORMATION, _UNMASKED), lin, st)
            args.append(lin)
        every = _Lin()
        for lin in args:
            every.add(lin, _START)
        alias = node.args.get("alias")
        columns = [c.name for c in alias.columns] if alias is not None else []
        if not columns:
            return _ScopeLin([], [], _Lin(), wildcard=every)
        if len(columns) == len(args):
            return _ScopeLin(columns, args, _Lin())
        return _ScopeLin(columns, [every] * len(columns), _Lin())

    def _values(self, scope: Scope) -> _ScopeLin:
        node: exp.Values = scope.expression
        st = _State(scope)
        rows = [
            row.expressions if isinstance(row, exp.Tuple) else [row] for row in node.expressions
        ]
        width = max((len(r) for r in rows), default=0)
        lins = [_Lin() for _ in range(width)]
        for row in rows:
            for i, value in enumerate(row):
                self._visit(value, _START, lins[i], st)
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if alias is not None else []
        if len(names) != width:
            names = [f"col{i}" for i in range(width)]  # DuckDB's names for VALUES columns
        return _ScopeLin(names, lins, _Lin())

    def _lateral(self, scope: Scope) -> _ScopeLin:
        if scope.expression.args.get("view"):
            raise LineageError(
                "LATERAL VIEW is not supported by the lineage engine; use explode() in the "
                "select list or a LATERAL subquery"
            )
        inner = [s for s in scope.sources.values() if isinstance(s, Scope)]
        if len(inner) == 1:
            return self.scope_lineage(inner[0])
        raise LineageError("this LATERAL construct is not supported; use a LATERAL subquery")

    # -- tables --------------------------------------------------------------------------
    def _table(self, table: exp.Table) -> str | None:
        """Check a base table or table function of a FROM / JOIN; its canonical name."""
        if isinstance(table.this, exp.Func):
            name = self._function_name(table.this)
            if name not in _TRIVIAL_TABLE_FUNCTIONS:
                raise LineageError(
                    f"the columns of table function {name}(...) cannot be known; read the data "
                    "through a dbt source or seed with declared columns"
                )
            return None
        canonical = self.tables.find(table)
        if canonical is None:
            if not self.strict:
                return ".".join(p for p in (table.catalog, table.db, table.name) if p)
            what = "is ambiguous in" if self.tables.ambiguous(table) else "is not in"
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            raise LineageError(
                f"relation {name} {what} the schema; "
                "refer to it with ref() or source() (declared in YAML) or qualify it fully"
            )
        self.read[canonical] = None
        return canonical

    @staticmethod
    def _function_name(func: exp.Func) -> str:
        return (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()

    def _star_placeholder(self, scope: Scope, select: exp.Select, star: exp.Expr) -> exp.Expr:
        """strict=False: a ``*`` over tables of unknown columns reads their column ``*``."""
        aliases = [star.table] if isinstance(star, exp.Column) else _join_tree(select)[0]
        columns = [
            exp.column("*", table=alias, quoted=True)
            for alias in aliases
            if isinstance(scope.sources.get(alias), exp.Table)
            or "*" in getattr(self._child(scope, alias), "by_name", {})
        ]
        return exp.Tuple(expressions=columns) if columns else exp.Null()

    def _child(self, scope: Scope, alias: str) -> _ScopeLin | None:
        source = scope.sources.get(alias)
        return self.scope_lineage(source) if isinstance(source, Scope) else None

    def _unexpanded_star(self, scope: Scope, select: exp.Select) -> None:
        if not self.strict:
            return
        if select.find(exp.Pivot) is not None:
            raise LineageError(
                "PIVOT / UNPIVOT is not supported by the lineage engine; write the pivot with "
                "CASE expressions or aggregate FILTER clauses"
            )
        unknown = []
        for alias in _join_tree(select)[0]:
            source = scope.sources.get(alias)
            if isinstance(source, exp.Table):
                canonical = self._table(source)
                if canonical is None or not self.tables.columns.get(canonical):
                    unknown.append(canonical or source.name)
        where = f" over {', '.join(unknown)}" if unknown else ""
        raise LineageError(
            f"cannot expand *{where}: the columns are not known; declare the columns in the "
            "source YAML (or list the columns explicitly)"
        )

    # -- expressions ---------------------------------------------------------------------
    def _visit(self, root: exp.Expr, ctx: _Ctx, acc: _Lin, st: _State) -> None:
        stack: list[tuple[exp.Expr, _Ctx]] = [(root, ctx)]
        pop, push = stack.pop, stack.append
        while stack:
            node, ctx = pop()
            cls = type(node)
            if cls is exp.Column:
                if isinstance(node.this, exp.Star) and self.strict:  # h.* in an expression
                    self._whole_row(node.table, _row_ctx(ctx), acc, st)
                else:
                    self._column(node, ctx, acc, st)
                continue
            if cls is exp.TableColumn:  # a relation's name used as a value: its whole row
                self._whole_row(node.name, _row_ctx(ctx), acc, st)
                continue
            if cls is exp.Star:  # count(*), struct(*), hash(*): every row source's row
                for alias in st.members():
                    self._whole_row(alias, _row_ctx(ctx), acc, st)
                continue
            if (
                isinstance(node, exp.AggFunc)
                and not isinstance(node, _WINDOW_NAVIGATION)
                and not isinstance(node.parent, exp.WithinGroup)
                and node.find(exp.Column, exp.Star, exp.TableColumn, exp.Query) is None
            ):  # count(1), count(), sum(1): as many as there are rows
                row_ctx = (True, _AGGREGATION, ctx[2]) if ctx[0] else ctx
                for alias in st.members():
                    self._whole_row(alias, row_ctx, acc, st)
            if isinstance(node, _GENERATORS):
                if cls is exp.Explode or cls is exp.Unnest:
                    self._check_unnest(node, st)
                st.generators.append(node)
            if cls is exp.Subquery or isinstance(node, exp.Query):
                child = st.subquery(node)
                if child is not None:
                    self._subquery(child, node, ctx, acc)
                    continue
                if isinstance(node.unnest(), exp.Query):
                    raise LineageError(
                        f"the subquery ({node.sql(dialect=self.tables.dialect)[:60]}) is in a "
                        "place the lineage engine cannot follow; move it to a CTE"
                    )
            if ctx[0]:
                rank, masking = ctx[1], ctx[2]
                value: _Ctx = (True, rank if rank > _TRANSFORMATION else _TRANSFORMATION, masking)
                if cls is exp.Window:
                    func = node.this
                    if isinstance(func, _WINDOW_NAVIGATION):  # lag(x): x, not an aggregate
                        for arg in func.iter_expressions():
                            push((arg, value))
                    else:
                        push((func, value))
                    for spec in (node, self._named_window(node, st)):
                        if spec is None:
                            continue
                        for part in spec.args.get("partition_by") or []:
                            push((part, _WINDOW))
                        if spec.args.get("order") is not None:
                            push((spec.args["order"], _WINDOW))
                    continue
                if cls is exp.Case:
                    if node.this is not None:
                        push((node.this, _CONDITIONAL))
                    for branch in node.args.get("ifs") or []:
                        push((branch.this, _CONDITIONAL))
                        push((branch.args["true"], value))
                    if node.args.get("default") is not None:
                        push((node.args["default"], value))
                    continue
                if cls is exp.If:
                    push((node.this, _CONDITIONAL))
                    for key in ("true", "false"):
                        if node.args.get(key) is not None:
                            push((node.args[key], value))
                    continue
                if cls is exp.Filter:  # aggregate FILTER (WHERE ...)
                    push((node.this, ctx))
                    push((node.expression, _CONDITIONAL))
                    continue
                if cls is exp.WithinGroup:  # percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
                    agg: _Ctx = (True, _AGGREGATION, masking)
                    push((node.this, agg))
                    order = node.expression
                    for item in order.expressions if isinstance(order, exp.Order) else [order]:
                        push((item, agg))
                    continue
                if cls is exp.Grouping or cls is exp.GroupingId:
                    # grouping(c): which grouping set the row belongs to, not a value of c
                    for arg in node.iter_expressions():
                        push((arg, _GROUP_BY))
                    continue
                if isinstance(node, _ORDERED_PICK):  # arg_max(v, ts): the value of v
                    push((node.this, (True, _AGGREGATION, masking)))
                    push((node.expression, _ORDER_KEY))
                    continue
                if cls is exp.Order and isinstance(
                    node.find_ancestor(exp.AggFunc, exp.Select), exp.AggFunc
                ):  # list(v ORDER BY ts), string_agg(v, ',' ORDER BY ts): ts orders v
                    if node.this is not None:
                        push((node.this, ctx))
                    for item in node.expressions:
                        push((item, _ORDER_KEY))
                    continue
                if isinstance(node, exp.AggFunc):
                    ctx = (True, _AGGREGATION, masking)
                elif isinstance(node, exp.Func) and (level := _masking_level(node)):
                    ctx = (True, value[1], level if level > masking else masking)
                elif cls is not exp.Paren and cls is not exp.Alias:
                    ctx = value
            for child in node.iter_expressions():
                push((child, ctx))

    @staticmethod
    def _named_window(window: exp.Window, st: _State) -> exp.Window | None:
        name = window.args.get("alias")
        select = st.scope.expression
        if name is None or not isinstance(select, exp.Select):
            return None
        for named in select.args.get("windows") or []:
            if named.name == name.name:
                return named
        raise LineageError(f"window {name.name} is not defined; add it to the WINDOW clause")

    def _subquery(self, scope: Scope, node: exp.Expr, ctx: _Ctx, acc: _Lin) -> None:
        child = self.scope_lineage(scope)
        parent = node.parent
        while isinstance(parent, exp.Subquery):
            parent = parent.parent
        if not isinstance(parent, exp.Exists):
            for lin in child.lins:
                acc.add(lin, ctx)
        elif child.rows_open:
            # EXISTS (select * from h): no condition tells which rows exist, the columns do.
            # They do not restrict rows in the sense of a gate (no value is compared).
            subtype = Subtype.FILTER if ctx[0] else ctx[1]
            for lin in child.lins:
                acc.add(lin, (False, subtype, False))
        if ctx[0]:  # a scalar subquery's filters and joins bear on this value only
            for key3, restricts in child.dataset.indirect.items():
                acc.add_indirect(key3, restricts)
        else:
            subtype, restricts = ctx[1], ctx[2]
            for (t, c, _), inner in child.dataset.indirect.items():
                acc.add_indirect((t, c, subtype), restricts and inner)

    def _table_function(self, source: exp.Table, ctx: _Ctx, acc: _Lin, st: _State) -> None:
        """A column of a (trivial) table function in FROM: computed from its arguments."""
        self._table(source)  # fails unless trivial
        lin = _Lin()
        self._visit(source.this, (True, _TRANSFORMATION, _UNMASKED), lin, st)
        acc.add(lin, ctx)

    def _whole_row(self, alias: str, ctx: _Ctx, acc: _Lin, st: _State) -> None:
        """A relation's whole row used as a value (``to_json(h)``, ``h.*`` in a function,
        ``count(*)``): every column of it, for a CTE or subquery every output column with its
        lineage."""
        source = _visible_source(st, alias)
        if isinstance(source, Scope):
            child = self.scope_lineage(source)
            for lin in child.lins:
                acc.add(lin, ctx)
            if child.wildcard is not None:
                acc.add(child.wildcard, ctx)
            return
        if isinstance(source, exp.Table):
            if isinstance(source.this, exp.Func):
                self._table_function(source, ctx, acc, st)
                return
            canonical = self._table(source)
            if canonical is None:
                return
            columns: Any = self.tables.columns.get(canonical)
            if not columns:
                if self.strict:
                    raise LineageError(
                        f"the whole row of {alias} is used as a value, but the columns of "
                        f"{canonical} are not declared; declare the columns in the source YAML"
                    )
                columns = ("*",)
            for name in columns:
                acc.add_column(canonical, name, ctx)
            return
        if self.strict:
            raise LineageError(
                f"{alias} is used as a whole row but no source is named {alias}; check the FROM "
                "clause"
            )

    def _check_unnest(self, node: exp.Expr, st: _State) -> None:
        """UNNEST in the select list yields one column, except over a STRUCT (one column per
        field, named after the fields) or with ``recursive := true`` / ``max_depth``."""
        args = [node.this] if isinstance(node, exp.Explode) else list(node.expressions)
        args += list(node.expressions) if isinstance(node, exp.Explode) else []
        for arg in args:
            if isinstance(arg, (exp.PropertyEQ, exp.Kwarg, exp.EQ)) and arg.this.name in (
                "recursive",
                "max_depth",
            ):
                raise LineageError(
                    f"UNNEST(..., {arg.this.name} := ...) expands into columns the lineage "
                    "engine cannot name; unnest one level at a time and name the fields"
                )
            if isinstance(arg, exp.Column) and arg.table:
                source = st.scope.sources.get(arg.table)
                canonical = self.tables.find(source) if isinstance(source, exp.Table) else None
                kind = self.tables.columns.get(canonical or "", {}).get(arg.name, "")
                if kind.lower().startswith("struct") and not kind.endswith("]"):
                    raise LineageError(
                        f"UNNEST of the STRUCT column {arg.table}.{arg.name} expands into one "
                        "column per field; select the fields by name (s.field)"
                    )

    def _column(self, column: exp.Column, ctx: _Ctx, acc: _Lin, st: _State) -> None:
        table, name = column.table, column.name
        if not table:
            lin = st.aliases.get(name)
            if lin is not None:
                acc.add(lin, ctx)
                return
            if self.strict:
                self._unresolved(column, st)
            # Without table metadata, an unqualified column belongs to the only source of
            # the nearest scope that has sources.
            scope_: Scope | None = st.scope
            members: list[str] = []
            while scope_ is not None and not members:
                select = scope_.expression
                members = _join_tree(select)[0] if isinstance(select, exp.Select) else []
                scope_ = scope_.parent
            if len(members) != 1:
                return
            table = members[0]
        source = _visible_source(st, table)
        if isinstance(source, Scope):
            child = self.scope_lineage(source)
            lin = child.by_name.get(name, child.wildcard)
            if lin is None:
                if name in child.by_name:
                    raise LineageError(
                        f"column {table}.{name} is ambiguous: {table} has two columns named "
                        f"{name}; alias them uniquely"
                    )
                if not self.strict:
                    return
                raise LineageError(
                    f"column {table}.{name} cannot be resolved: {table} has no column {name}; "
                    "check the column names"
                )
            acc.add(lin, ctx)
            return
        if isinstance(source, exp.Table):
            if isinstance(source.this, exp.Func):
                self._table_function(source, ctx, acc, st)
                return
            canonical = self._table(source)
            if canonical is None:
                return
            if self.strict and name not in self.tables.columns[canonical]:
                if not self.tables.columns[canonical]:
                    raise LineageError(
                        f"the columns of {canonical} are not declared; declare the columns in "
                        "the source YAML"
                    )
                raise LineageError(
                    f"column {name} cannot be resolved: {canonical} has no column {name}; check "
                    "the column name or declare it in YAML"
                )
            acc.add_column(canonical, name, ctx)
            return
        if self.strict:
            raise LineageError(
                f"column {table}.{name} cannot be resolved: no source named {table}; check the "
                "FROM clause"
            )

    def _unresolved(self, column: exp.Column, st: _State) -> None:
        """An unqualified column qualify could not place: unknown, ambiguous, or of a table
        whose columns are not declared."""
        line, col = column.this.meta.get("line"), column.this.meta.get("col")
        where = f" (line {line}, column {col})" if line and col else ""
        scope: Scope | None = st.scope
        while scope is not None:
            for source in scope.sources.values():
                canonical = self.tables.find(source) if isinstance(source, exp.Table) else None
                if canonical is not None and not self.tables.columns[canonical]:
                    raise LineageError(
                        f"column {column.name}{where} cannot be resolved: the columns of "
                        f"{canonical} are not declared; declare the columns in the source YAML"
                    )
            scope = scope.parent
        raise LineageError(
            f"column {column.name}{where} cannot be resolved: no table of the query has it, or "
            "several have it; check the name against the upstream columns or qualify it"
        )

    # -- result ------------------------------------------------------------------------------
    def run(self, query: exp.Query) -> _ScopeLin:
        scopes = traverse_scope(query)
        if not scopes:
            raise LineageError("the statement is not a query; lineage needs a SELECT")
        for scope in scopes:
            self.scope_lineage(scope)
        self.root_scope = scopes[-1]
        return self.scope_lineage(scopes[-1])

    def display_names(
        self, scope: Scope, fixed: Mapping[int, str], sql: str | None, dialect: str
    ) -> list[str]:
        """The output names of ``scope`` as the database shows them: an alias as written (its
        case kept), an unaliased expression by ``fixed`` (the database's own name), a column
        reference (DuckDB, or ``*``) by its source's name, Spark by the reference as written.
        Anything else keeps the engine's case-folded name."""
        lin = self.scope_lineage(scope)
        node = scope.expression
        if isinstance(node, exp.SetOperation) and not node.args.get("by_name"):
            shown = self.display_names(scope.set_operation_scopes[0], fixed, sql, dialect)
            return shown if len(shown) == len(lin.names) else list(lin.names)
        if not isinstance(node, exp.Select) or len(node.expressions) != len(lin.names):
            return list(lin.names)
        out: list[str] = []
        for p, name in zip(node.expressions, lin.names, strict=True):
            value = p.this if isinstance(p, exp.Alias) else p
            shown = fixed.get(id(p)) or fixed.get(id(value))
            if shown is not None:
                out.append(shown)
                continue
            ident = p.args.get("alias") if isinstance(p, exp.Alias) else None
            if isinstance(ident, exp.Identifier) and "start" in ident.meta:
                shown = _written(ident, sql)
            elif isinstance(value, exp.Column) and isinstance(value.this, exp.Identifier):
                shown = self._column_display(scope, value, sql, dialect)
            out.append(shown if shown and shown.lower() == name.lower() else name)
        return out

    def _column_display(
        self, scope: Scope, column: exp.Column, sql: str | None, dialect: str
    ) -> str | None:
        if dialect != "duckdb" and "start" in column.this.meta:
            return _written(column.this, sql)  # Spark names a reference as written
        source = scope.sources.get(column.table)
        if isinstance(source, exp.Table):
            canonical = self.tables.find(source)
            return self.tables.display.get(canonical or "", {}).get(column.name)
        if isinstance(source, Scope):
            child = self.scope_lineage(source)
            if column.name in child.by_name and child.by_name[column.name] is not None:
                key = id(source.expression)
                shown = self.shown.get(key)
                if shown is None:
                    shown = self.shown[key] = self.display_names(source, {}, sql, dialect)
                return shown[child.names.index(column.name)]
        return None


def _describe_parse_error(error: SqlglotError) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        where = f"line {first.get('line')}, column {first.get('col')}: "
        return where + str(first.get("description") or "syntax error")
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# Tokens whose text is data, not a name: never case-folded.
_LITERAL_TOKENS = frozenset(
    {
        TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.RAW_STRING,
        TokenType.NATIONAL_RAW_STRING, TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING,
        TokenType.BIT_STRING, TokenType.HEX_STRING, TokenType.BYTE_STRING,
    }
)  # fmt: skip
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NORMALIZED = "catalog_lineage_normalized"  # meta flag: identifiers already case-folded
_HAS_COLUMNS = "catalog_lineage_has_columns"  # meta flag: the word COLUMNS occurs
_SQL_TEXT = "catalog_lineage_sql"  # meta: the SQL as written (identifiers' case, DuckDB names)


def parse_query(sql: str, *, dialect: str = "duckdb") -> exp.Query:
    """Parse exactly one query (SELECT / set operation), failing closed.

    For dialects that resolve every identifier case-insensitively, quoted or not (DuckDB,
    Spark), names are case-folded on the tokens, before the tree exists, which spares the
    identifier-normalisation pass over the whole tree; the query is flagged so that
    :func:`lineage_of_query` does not normalise it again.
    """
    d = Dialect.get_or_raise(dialect)
    fold = d.NORMALIZATION_STRATEGY is NormalizationStrategy.CASE_INSENSITIVE
    try:
        tokens = d.tokenize(sql)
        has_columns = False
        if fold:
            ascii_only = d.ASCII_ONLY_NORMALIZATION
            for token in tokens:
                if token.token_type not in _LITERAL_TOKENS:
                    text = token.text
                    token.text = text = (
                        text.translate(_ASCII_LOWER)
                        if ascii_only and not text.isascii()
                        else text.lower()
                    )
                    has_columns = has_columns or text == "columns"
        statements = [s for s in d.parser().parse(tokens, sql) if s is not None]
    except (ParseError, TokenError) as e:
        raise LineageError(
            f"the SQL does not parse ({_describe_parse_error(e)}); fix the SQL"
        ) from None
    if len(statements) != 1:
        raise LineageError(
            f"expected one SQL statement, found {len(statements)}; lineage reads one query"
        )
    statement = statements[0]
    while isinstance(statement, exp.Subquery) and set(statement.args) - {"this"} == set():
        statement = statement.this
    if not isinstance(statement, exp.Query):
        raise LineageError(
            f"expected a SELECT query, found {statement.key.upper()}; lineage reads queries"
        )
    if fold:
        # Identifiers are folded; DuckDB's COLUMNS(...) is possible only if the word occurs.
        statement.meta[_NORMALIZED] = True
        statement.meta[_HAS_COLUMNS] = has_columns
    statement.meta[_SQL_TEXT] = sql
    return statement


def _written(ident: exp.Identifier, sql: str | None) -> str:
    """An identifier as the SQL spells it (its case kept, quotes removed); its folded name
    when the position is unknown."""
    start, end = ident.meta.get("start"), ident.meta.get("end")
    if sql is None or start is None or end is None:
        return ident.name
    text = sql[start : end + 1]
    if ident.quoted and len(text) >= 2 and text[0] == text[-1] and text[0] in '"`':
        text = text[1:-1].replace(text[0] * 2, text[0])
    return text if text.lower() == ident.name.lower() else ident.name


def _outermost_select(query: exp.Expr) -> exp.Select | None:
    """The SELECT whose projections name the query's output columns."""
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.this
    return query if isinstance(query, exp.Select) else None


# The parts of DuckDB's serialised SELECT node; the select list is rendered with all others
# emptied (a node with parts not known here is not rendered: its names would not be certain).
_DUCKDB_SELECT_KEYS = frozenset(
    {
        "type", "modifiers", "cte_map", "select_list", "from_table", "where_clause",
        "group_expressions", "group_sets", "aggregate_handling", "having", "sample", "qualify",
    }
)  # fmt: skip


_DUCKDB_LOCK = threading.Lock()


@functools.cache
def _duckdb_parser() -> Any:
    """An in-memory DuckDB connection, opened once (opening one costs ~30 ms), used only for its
    parser; callers hold ``_DUCKDB_LOCK``."""
    import duckdb  # the adapter's own engine; imported only for unaliased outputs

    return duckdb.connect()


def _duckdb_expression_names(sql: str) -> list[str | None]:
    """DuckDB's own name of each expression of the outermost SELECT of ``sql`` (None for a
    column reference, ``*`` or ``COLUMNS``, which take the bound column's name).

    DuckDB names an unaliased expression by its parser's rendering of it (``sum(x)``,
    ``count_star()``, ``(x + 1)``, ``CAST(x AS INTEGER)``, ``upper("name")``); DuckDB's parser
    is asked for exactly that rendering (``json_serialize_sql`` and back), so the name is the
    one the adapter gives, never a reconstruction.
    """
    with _DUCKDB_LOCK:
        con = _duckdb_parser()
        serialized = json.loads(con.execute("select json_serialize_sql(?)", [sql]).fetchall()[0][0])
        if serialized.get("error"):
            raise LineageError(
                f"DuckDB cannot parse the query ({serialized.get('error_message', '')[:80]}); "
                "fix the SQL"
            )
        node = serialized["statements"][0]["node"]
        while node is not None and node.get("type") == "SET_OPERATION_NODE":
            node = node.get("left") or (node.get("children") or [None])[0]
        if node is None:
            return []
        if node.get("type") != "SELECT_NODE" or set(node) - _DUCKDB_SELECT_KEYS:
            return []  # not a SELECT DuckDB serialises as this module knows: names not certain
        bare = {
            **node,
            "aggregate_handling": "STANDARD_HANDLING",
            "modifiers": [],
            "cte_map": {"map": []},
            "from_table": {"type": "EMPTY", "alias": "", "sample": None},
            "where_clause": None,
            "group_expressions": [],
            "group_sets": [],
            "having": None,
            "sample": None,
            "qualify": None,
        }
        names: list[str | None] = []
        for item in node["select_list"]:
            if item.get("class") in ("COLUMN_REF", "STAR"):
                names.append(None)
                continue
            one = {**serialized, "statements": [{"node": {**bare, "select_list": [
                {**item, "alias": ""}]}, "named_param_map": []}]}  # fmt: skip
            text = con.execute("select json_deserialize_sql(?)", [json.dumps(one)]).fetchall()
            rendered = text[0][0]
            if not rendered.startswith("SELECT "):
                raise LineageError("DuckDB did not name an output column; give it an alias")
            names.append(rendered[len("SELECT ") :])
        return names


# Spark's names of unaliased expressions, for the constructs verified against a local Spark
# session (tests/spark/test_spark_names.py); anything else is not named (fails closed).
_SPARK_FUNCTIONS = {
    exp.Sum: "sum", exp.Max: "max", exp.Min: "min", exp.Avg: "avg", exp.Count: "count",
    exp.Upper: "upper", exp.Lower: "lower", exp.Abs: "abs", exp.Coalesce: "coalesce",
    exp.Concat: "concat",
}  # fmt: skip
_SPARK_OPERATORS = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.EQ: "=", exp.GT: ">",
    exp.LT: "<",
}  # fmt: skip


def _spark_name(node: exp.Expr, sql: str | None) -> str | None:
    """Spark's name of an unaliased expression (``sum(x)``, ``count(1)``, ``(x + 1)``,
    ``CASE WHEN (x > 1) THEN a END``), or None when the construct is not verified."""

    def name(n: exp.Expr) -> str | None:
        cls = type(n)
        if cls is exp.Paren:
            return name(n.this)
        if cls is exp.Column and isinstance(n.this, exp.Identifier):
            return _written(n.this, sql)  # the qualifier is dropped: sum(t.x) is sum(x)
        if cls is exp.Literal:
            if n.is_string:
                return n.name
            return n.name if re.fullmatch(r"\d+(\.\d+)?", n.name) else None
        if cls is exp.Null:
            return "NULL"
        if cls is exp.Boolean:
            return "true" if n.this else "false"
        if cls in _SPARK_OPERATORS:
            left, right = name(n.this), name(n.expression)
            return (
                None
                if left is None or right is None
                else f"({left} {_SPARK_OPERATORS[cls]} {right})"
            )
        if cls is exp.NEQ:
            left, right = name(n.this), name(n.expression)
            return None if left is None or right is None else f"(NOT ({left} = {right}))"
        if cls is exp.Is and isinstance(n.expression, exp.Null):
            inner = name(n.this)
            return None if inner is None else f"({inner} IS NULL)"
        if (
            cls is exp.Not
            and isinstance(n.this, exp.Is)
            and isinstance(n.this.expression, exp.Null)
        ):
            inner = name(n.this.this)
            return None if inner is None else f"({inner} IS NOT NULL)"
        if cls is exp.Neg and isinstance(n.this, exp.Column):
            inner = name(n.this)
            return None if inner is None else f"(- {inner})"
        if (
            (cls is exp.Cast or cls is exp.TryCast)  # sqlglot reads Spark's CAST as TryCast
            and not n.args.get("safe")  # ... and try_cast(...) as a safe one: not verified
            and not n.args.get("format")
            and isinstance(n.this, exp.Column)
        ):
            return name(n.this)  # Spark names cast(x AS INT) after x
        if cls is exp.Case and n.this is None:
            parts = ["CASE"]
            for branch in n.args.get("ifs") or []:
                cond, then = name(branch.this), name(branch.args["true"])
                if cond is None or then is None:
                    return None
                parts += ["WHEN", cond, "THEN", then]
            default = n.args.get("default")
            if default is not None:
                rendered = name(default)
                if rendered is None:
                    return None
                parts += ["ELSE", rendered]
            return " ".join([*parts, "END"])
        if cls in _SPARK_FUNCTIONS:
            args = [n.this, *n.expressions] if n.this is not None else list(n.expressions)
            if cls is exp.Count and (not args or isinstance(args[0], exp.Star)):
                return "count(1)"
            prefix = ""
            if len(args) == 1 and isinstance(args[0], exp.Distinct):
                distinct = args[0]
                if len(distinct.expressions) != 1:
                    return None
                prefix, args = "DISTINCT ", list(distinct.expressions)
            rendered_args = [r for r in map(name, args) if r is not None]
            if len(rendered_args) != len(args):
                return None
            return f"{_SPARK_FUNCTIONS[cls]}({prefix}{', '.join(rendered_args)})"
        return None

    return name(node)


def _names_of_unnamed(
    query: exp.Query, unnamed: list[tuple[int, str]], dialect: str
) -> dict[int, str]:
    """The names the database gives the outputs without an alias, by ``id`` of the projection.

    DuckDB: its parser's own rendering. Spark: the constructs verified against Spark
    (:func:`_spark_name`). Otherwise each fails closed with one line asking for an alias (a
    wrong name would tag and check the wrong column).
    """
    select = _outermost_select(query)
    sql = query.meta.get(_SQL_TEXT)
    i, text = unnamed[0]
    ask = f"output column {i + 1} ({text[:60]}) has no name"
    if dialect == "spark" and select is not None:
        out: dict[int, str] = {}
        for i, text in unnamed:
            name = _spark_name(select.expressions[i], sql)
            if name is None:
                raise LineageError(
                    f"output column {i + 1} ({text[:60]}) has no name the lineage engine can "
                    "be sure of on Spark; give it an alias with AS"
                )
            out[id(select.expressions[i])] = name
        return out
    if dialect != "duckdb" or select is None or sql is None:
        raise LineageError(f"{ask}; give it an alias with AS")
    try:
        names = _duckdb_expression_names(sql)
    except LineageError:
        raise
    except Exception as e:  # duckdb missing or its parser failed: the name is not certain
        first = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        raise LineageError(f"{ask} DuckDB could name ({first}); give it an alias with AS") from None
    if len(names) != len(select.expressions):
        raise LineageError(f"{ask} the lineage engine can be sure of; give it an alias with AS")
    out: dict[int, str] = {}
    for i, _ in unnamed:
        name = names[i]
        if name is None:
            raise LineageError(f"{ask} the lineage engine can be sure of; give it an alias with AS")
        out[id(select.expressions[i])] = name
    return out


def _unnamed_outputs(query: exp.Query) -> list[tuple[int, str]]:
    """Output columns that have no name of their own (an expression without AS)."""
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.this
    if not isinstance(query, exp.Select):
        return []
    return [
        (i, p.sql())
        for i, p in enumerate(query.expressions)
        if not isinstance(p, (exp.Alias, exp.Aliases, exp.Column, exp.Star, exp.Dot))
        and not p.find(exp.Columns)
    ]


def _check_inner_names(query: exp.Query) -> None:
    """A CTE or derived table's output without an alias fails closed: the engine would name it
    ``_col_0`` where the database names it after its SQL, and a reference to it by name or
    through ``*`` would carry the wrong name."""
    for node in query.find_all(exp.CTE, exp.Subquery):
        if isinstance(node, exp.Subquery) and not isinstance(node.parent, (exp.From, exp.Join)):
            continue
        alias = node.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            continue  # ``r (a, b, depth) as (...)``: the column list names the outputs
        body = node.this
        unnamed = _unnamed_outputs(body) if isinstance(body, exp.Query) else []
        if unnamed:
            i, sql = unnamed[0]
            raise LineageError(
                f"output column {i + 1} ({sql[:60]}) of {node.alias or 'a subquery'} has no "
                "name; give it an alias with AS"
            )


def _explain_unresolved(query: exp.Query, tables: Tables, message: str) -> None:
    """Name the table behind an unresolved column: unknown, or known without columns."""
    ctes = {cte.alias for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if isinstance(table.this, exp.Func) or (not table.db and table.name in ctes):
            continue
        canonical = tables.find(table)
        if canonical is None:
            what = "is ambiguous in" if tables.ambiguous(table) else "is not in"
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            raise LineageError(
                f"relation {name} {what} the schema ({message}); refer to it with ref() or "
                "source() (declared in YAML) or qualify it fully"
            )
        if not tables.columns[canonical]:
            raise LineageError(
                f"the columns of {canonical} are not declared ({message}); declare the columns "
                "in the source YAML"
            )


def lineage_of_query(
    query: exp.Query, tables: Tables, *, dialect: str = "duckdb", strict: bool = True
) -> QueryLineage:
    """Lineage of a parsed query against prepared ``tables`` (the query is qualified in place)."""
    has_columns = query.meta.get(_HAS_COLUMNS)
    if has_columns is None:
        has_columns = query.find(exp.Columns) is not None
    top = _outermost_select(query)
    if top is not None:  # DuckDB / Spark: ``distinct(k)``, ``(k)`` are the column k
        for p in top.expressions:
            if isinstance(p, exp.Paren) and isinstance(p.this, exp.Column):
                p.replace(p.this)
    unnamed = _unnamed_outputs(query)
    if strict:
        _check_inner_names(query)
    fixed = _names_of_unnamed(query, unnamed, dialect) if unnamed and strict else {}
    sql_text = query.meta.get(_SQL_TEXT)
    try:
        # sqlglot's ``qualify`` without its last two steps: identifiers are compared, never
        # re-rendered as SQL (no quoting), and the engine fails closed on every column it
        # cannot place (``_unresolved``) where sqlglot's validation would build all scopes a
        # second time.
        if not query.meta.get(_NORMALIZED):
            query = normalize_identifiers(
                query, dialect=dialect, store_original_column_identifiers=True
            )
        qualified = qualify_columns(
            qualify_tables(query, dialect=dialect),
            tables.schema,
            expand_alias_refs=True,
            expand_stars=True,
        )
    except (OptimizeError, SchemaError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        if strict:
            _explain_unresolved(query, tables, message)
        raise LineageError(
            f"cannot resolve the query's columns ({message}); check the column and table names "
            "against the upstream columns"
        ) from None
    except SqlglotError as e:
        raise LineageError(f"cannot qualify the query ({e}); simplify the SQL") from None
    engine = _Engine(tables, strict=strict, has_columns=has_columns)
    root = engine.run(qualified)
    # Names need the SQL as written only where some letter is upper case (in the SQL or in a
    # table's column names) or the database names an unaliased output; else they are folded.
    cased = sql_text is None or sql_text != sql_text.lower() or bool(tables.display)
    shown = (
        engine.display_names(engine.root_scope, fixed, sql_text, dialect)
        if strict and (fixed or cased)
        else None
    )
    names = _output_names(shown or root.names, dialect=dialect, strict=strict)
    merged: dict[str, _Lin] = {}
    for name, lin in zip(names, root.lins, strict=True):
        if name in merged:
            merged[name].add(lin, _START)
        else:
            merged[name] = lin
    fields = {name: _dependencies(lin, tables.display) for name, lin in merged.items()}
    return QueryLineage(
        columns=tuple(merged),
        fields=fields,
        dataset=_dependencies(root.dataset, tables.display),
        tables=tuple(engine.read),
    )


def _output_names(names: list[str], *, dialect: str, strict: bool) -> list[str]:
    """The output column names; DuckDB renames a repeated name ``x`` (compared case-
    insensitively: ``X`` repeats ``x``) to the first of ``x_1``, ``x_2``... not yet taken,
    left to right (a later ``x_1`` of its own becomes ``x_1_1``)."""
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        if name.lower() in taken:
            if dialect != "duckdb" and not strict:
                out.append(name)  # merged with the first column of that name
                continue
            if dialect != "duckdb":
                raise LineageError(
                    f"two output columns are named {name}; alias the output columns uniquely"
                )
            k = 1
            while f"{name}_{k}".lower() in taken:
                k += 1
            name = f"{name}_{k}"
        taken.add(name.lower())
        out.append(name)
    return out


def _plain_dependencies(lin: _Lin) -> tuple[Dependency, ...]:
    direct = [
        Dependency(
            t, c, EdgeType.DIRECT, _DIRECT_SUBTYPES[rank], masking > 0, keyed=masking == _KEYED
        )
        for (t, c), (rank, masking) in lin.direct.items()
    ]
    indirect = [
        Dependency(t, c, EdgeType.INDIRECT, subtype, False, restricts)
        for (t, c, subtype), restricts in lin.indirect.items()
    ]
    return tuple(sorted(direct) + sorted(indirect))


def _dependencies(
    lin: _Lin, display: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[Dependency, ...]:
    """The dependencies of ``lin``, each column named as its table spells it (``display``)."""
    if not display:  # every name is spelt as folded: nothing to map
        return _plain_dependencies(lin)

    def shown(t: str, c: str) -> str:
        names = display.get(t)  # only the tables with a column spelt other than folded
        return c if names is None else names.get(c, c)

    direct = [
        Dependency(
            t,
            shown(t, c),
            EdgeType.DIRECT,
            _DIRECT_SUBTYPES[rank],
            masking > 0,
            keyed=masking == _KEYED,
        )
        for (t, c), (rank, masking) in lin.direct.items()
    ]
    indirect = [
        Dependency(t, shown(t, c), EdgeType.INDIRECT, subtype, False, restricts)
        for (t, c, subtype), restricts in lin.indirect.items()
    ]
    return tuple(sorted(direct) + sorted(indirect))


def query_lineage(
    sql: str,
    *,
    schema: Mapping[str, Any] | Tables,
    dialect: str = "duckdb",
    strict: bool = True,
) -> QueryLineage:
    """Column lineage of one query (DIRECT and INDIRECT) against a sqlglot-style ``schema``.

    ``strict`` (the default) fails closed on any table or column the schema does not know;
    ``strict=False`` accepts unknown tables and takes their columns as the query uses them
    (for scoring against corpora that come without table metadata).
    """
    tables = schema if isinstance(schema, Tables) else Tables(schema, dialect=dialect)
    with gc_paused():
        query = parse_query(sql, dialect=dialect)
        return lineage_of_query(query, tables, dialect=dialect, strict=strict)
