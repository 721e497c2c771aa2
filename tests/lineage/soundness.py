"""A dynamic soundness oracle for the column lineage engine.

The engine claims, for every output column, the source columns it depends on (DIRECT or
INDIRECT). The oracle tests that claim on data: it runs a query (or every model of the dbt
project) in DuckDB on a small data set, then again with one source column perturbed, and every
output column that changes must be reachable from the perturbed column in the lineage graph.

Perturbations (:data:`STRATEGIES`, chosen by the column's type):

- **values** of source column ``T.X``, rows kept: numbers shifted, strings replaced by other
  in-domain values (the contract's allowed values rotated, or values moved between rows) or
  suffixed, booleans flipped, dates moved, some values set to NULL. Explained iff the output
  column is reachable from ``T.X`` (over any edge; a dataset-level edge reaches every column).
- **row removal**: the rows of ``T`` whose ``X`` equals one value are deleted. Explained iff the
  output column is reachable from *any* column of ``T`` (the rows take all their values along).

When an output "changed" (:func:`unexplained`): let ``U`` be the output columns *not*
reachable from what was perturbed. If the lineage is sound, nothing about ``U`` may change:
not a column's values, not the number of rows, not how the ``U`` values are paired with each
other in a row. So the check is that the multiset of the rows projected onto ``U`` is the same
before and after. This is the sound form of "a column changed": a column whose multiset of
values changed, every column when the row count changed, and, when no single column's multiset
changed, the smallest set of ``U`` columns whose joint values were re-paired. A re-pairing
between a ``U`` column and a reachable column is *not* reported: swapping ``x`` between two
rows re-pairs ``x`` with the row's key, and only ``x`` (reachable) changed. Row order is
ignored (a materialised table has none); ``ORDER BY`` effects show up only through ``LIMIT`` or
order-sensitive values (``list``, ``string_agg``), which is what they should be. Floats are
compared to 10 significant digits.

Nondeterminism: DuckDB runs with ``threads=1``; the baseline is computed twice and a column that
differs between two identical runs is ignored (counted in the report). ``current_date`` and the
like are constant within a run. For generated queries the baseline also runs with every table's
rows in reverse order: a column that changes then depends on how ties are broken (a window or
``LIMIT`` whose ``ORDER BY`` is not total), which SQL leaves undefined, so it is ignored too.

Mutated models (:class:`MutantOracle`): the compiled SQL of every intermediate and mart model
is rewritten by :func:`mutants` (sqlglot) into other shapes of the same query (CTEs inlined as
derived tables, a key-only INNER JOIN as ``IN`` / ``EXISTS``, WHERE moved into an inner join's
ON, ``case`` as ``if()``, ``coalesce`` as ``case``, UNION branches swapped, GROUP BY by position,
named WINDOW clauses, a rank filter as QUALIFY, ``t.*``, and all of them at once); each mutant
runs in place of the model on its parents' baseline results, under perturbations of the
parents' columns, and is checked against the engine's lineage of the mutant's own SQL.

The module has four parts: the comparison (:func:`unexplained`), the project runner
(:class:`ProjectOracle`), the generated-query corpus (:class:`QueryGenerator`,
:class:`GeneratedOracle`) and the mutated models. ``python tests/lineage/soundness.py`` runs
them all and prints the findings.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from catalog.lineage import ColumnRef, LineageError, ProjectGraph, QueryLineage, query_lineage

# -- comparison --------------------------------------------------------------------------------


def canon(value: Any) -> Any:
    """A hashable, order-faithful form of a DuckDB value (lists and structs become tuples)."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return float(f"{value:.10g}")
    if isinstance(value, (list, tuple)):
        return tuple(canon(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, canon(v)) for k, v in value.items())
    if isinstance(value, Decimal):
        return value.normalize() if value.is_finite() else str(value)
    return value


class Result:
    """The rows of one output (a model or a query); values hashable (:func:`canon` or text).

    Column multisets are computed once and cached: a baseline is compared many times.
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]):
        self.columns = tuple(columns)
        self.rows = tuple(rows)
        self._cols: list[tuple[Any, ...]] | None = None
        self._counts: dict[tuple[int, ...], Counter] = {}

    @classmethod
    def of(cls, cursor: duckdb.DuckDBPyConnection) -> Result:
        columns = tuple(d[0].lower() for d in cursor.description)
        return cls(columns, [tuple(canon(v) for v in row) for row in cursor.fetchall()])

    def project(self, indexes: Sequence[int]) -> Counter:
        """The multiset of the rows projected onto the columns at ``indexes``."""
        key = tuple(indexes)
        if key not in self._counts:
            if self._cols is None:
                self._cols = list(zip(*self.rows, strict=True)) if self.rows else []
            if not self.rows:
                self._counts[key] = Counter()
            elif len(key) == 1:
                self._counts[key] = Counter(self._cols[key[0]])
            else:
                self._counts[key] = Counter(zip(*(self._cols[i] for i in key), strict=True))
        return self._counts[key]

    def same_rows(self, other: Result) -> bool:
        return self.columns == other.columns and self.project(
            range(len(self.columns))
        ) == other.project(range(len(other.columns)))


def read_as_text(conn: duckdb.DuckDBPyConnection, relation: str) -> Result:
    """The rows of ``relation`` with every value rendered as text by DuckDB (floating-point
    numbers to 10 significant digits): fast to fetch, hashable, order-faithful."""
    described = conn.execute(
        f"select column_name, column_type from (describe {relation})"
    ).fetchall()
    exprs = []
    for name, typ in described:
        q = '"' + name.replace('"', '""') + '"'
        floating = typ.upper() in ("DOUBLE", "FLOAT", "REAL")
        exprs.append(f"format('{{:.10g}}', {q})" if floating else f"cast({q} as varchar)")
    rows = conn.execute(f"select {', '.join(exprs) or '1'} from {relation}").fetchall()
    return Result(tuple(name.lower() for name, _ in described), tuple(map(tuple, rows)))


def changed_columns(base: Result, new: Result) -> set[str]:
    """Columns whose multiset of values changed (all of them when the row count changed)."""
    if len(base.rows) != len(new.rows):
        return set(base.columns)
    return {c for i, c in enumerate(base.columns) if base.project((i,)) != new.project((i,))}


def unexplained(
    base: Result,
    new: Result,
    reachable: set[str],
    *,
    ignore: Iterable[str] = (),
    pairing: bool = True,
) -> list[tuple[str, ...]]:
    """The changes of ``new`` against ``base`` that the lineage does not explain.

    ``reachable``: output columns reachable from what was perturbed. Returns groups of
    unreachable columns: one group per column whose multiset of values changed; when none did
    (same row count), the smallest group whose joint values were re-paired (``pairing``).
    ``ignore``: nondeterministic columns.
    """
    skip = set(ignore)
    free = [i for i, c in enumerate(base.columns) if c not in reachable and c not in skip]
    if not free or base.project(free) == new.project(free):
        return []
    singles = [(base.columns[i],) for i in free if base.project((i,)) != new.project((i,))]
    if singles or not pairing:
        return singles
    for size in range(2, len(free)):
        for group in itertools.combinations(free, size):
            if base.project(group) != new.project(group):
                return [tuple(base.columns[i] for i in group)]
    return [tuple(base.columns[i] for i in free)]


def nondeterministic(first: Result, second: Result) -> tuple[set[str], bool]:
    """Columns that differ between two identical runs, and whether the pairing did."""
    cols = changed_columns(first, second)
    return cols, not first.same_rows(second)


# -- perturbations -----------------------------------------------------------------------------

# A column's kind decides which strategies apply.
NUMBER, STRING, DATE, TIMESTAMP, BOOLEAN, LIST, OTHER = (
    "number", "string", "date", "timestamp", "boolean", "list", "other",
)  # fmt: skip


def kind_of(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t.endswith("[]") or t.startswith(("LIST", "STRUCT", "MAP")):
        return LIST if t.endswith("[]") or t.startswith("LIST") else OTHER
    if t.startswith(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "DOUBLE",
                     "FLOAT", "REAL", "UBIGINT", "UINTEGER", "NUMERIC", "INT")):  # fmt: skip
        return NUMBER
    if t.startswith("TIMESTAMP"):
        return TIMESTAMP
    if t == "DATE":
        return DATE
    if t == "BOOLEAN":
        return BOOLEAN
    if t.startswith(("VARCHAR", "TEXT", "STRING")):
        return STRING
    return OTHER


# The strategies used when time is short (the project's many columns): two per kind, one that
# keeps values in their domain (rows swap values) and one that leaves it.
DEFAULT_STRATEGIES = {
    NUMBER: ("scale", "rotate"),
    STRING: ("rotate", "null"),
    DATE: ("move", "move_years"),
    TIMESTAMP: ("move", "move_years"),
    BOOLEAN: ("flip_half", "null"),
    LIST: ("append", "rotate"),
    OTHER: ("rotate", "null"),
}


def _quote(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        kind = "timestamp" if isinstance(value, dt.datetime) else "date"
        return f"{kind} '{value.isoformat(sep=' ') if kind == 'timestamp' else value}'"
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Perturbation:
    """One change of one source table: ``sql`` selects the perturbed table from the original
    (``{t}``), keeping its columns and row order."""

    table: str  # the table as the lineage names it
    column: str
    strategy: str
    sql: str
    removes_rows: bool = False

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}:{self.strategy}"


def _replace(table: str, column: str, expr: str) -> str:
    return f'select * replace ({expr} as "{column}") from {table} order by rowid'


def value_perturbations(
    table: str,
    relation: str,
    column: str,
    duckdb_type: str,
    *,
    allowed: Sequence[str] = (),
    strategies: Iterable[str] | None = None,
    default: bool = False,
) -> list[Perturbation]:
    """The value perturbations of ``column`` (type ``duckdb_type``) of ``relation``: those
    named in ``strategies``, else the :data:`DEFAULT_STRATEGIES` of its kind when
    ``default``, else every one that applies."""
    c = f'"{column}"'
    kind = kind_of(duckdb_type)
    typ = duckdb_type
    half = "rowid % 2 = 0"
    out: dict[str, str] = {}
    if kind == NUMBER:
        out["shift"] = f"cast({c} + 1 + rowid % 5 as {typ})"
        out["scale"] = f"case when {half} then cast({c} * 3 + 1000 as {typ}) else {c} end"
    elif kind == STRING:
        if allowed:
            cases = " ".join(
                f"when {_quote(a)} then {_quote(allowed[(i + 1) % len(allowed)])}"
                for i, a in enumerate(allowed)
            )
            out["domain"] = f"case when {half} then case {c} {cases} else {c} end else {c} end"
            out["domain_all"] = f"case {c} {cases} else {c} end"
        out["suffix"] = f"case when {half} then {c} || '~p' else {c} end"
    elif kind == DATE:
        out["move"] = f"cast({c} + to_days(cast(1 + rowid % 40 as integer)) as date)"
        out["move_years"] = f"case when {half} then cast({c} - to_days(3653) as date) else {c} end"
    elif kind == TIMESTAMP:
        out["move"] = f"cast({c} + to_hours(cast(1 + rowid % 900 as integer)) as {typ})"
        out["move_years"] = f"case when {half} then {c} - to_days(3653) else {c} end"
    elif kind == BOOLEAN:
        out["flip"] = f"not {c}"
        out["flip_half"] = f"case when {half} then not {c} else {c} end"
    elif kind == LIST:
        out["append"] = f"case when {half} then list_append({c}, 'p~') else {c} end"
    # every type: values moved between rows (in-domain), some values NULL
    out["rotate"] = (
        f"coalesce(lead({c}) over (order by rowid), first_value({c}) over (order by rowid))"
    )
    out["null"] = f"case when rowid % 3 = 0 then null else {c} end"
    wanted = set(strategies) if strategies is not None else None
    if wanted is None and default:
        wanted = set(DEFAULT_STRATEGIES[kind])
        if kind == STRING and allowed:
            wanted = {"domain", "domain_all", "rotate"}
    return [
        Perturbation(table, column, name, _replace(relation, column, expr))
        for name, expr in out.items()
        if wanted is None or name in wanted
    ]


def removal(table: str, relation: str, column: str, value: Any) -> Perturbation:
    """The rows of ``relation`` whose ``column`` equals ``value`` removed."""
    cond = f'"{column}" is not distinct from {_quote(value)}'
    return Perturbation(
        table,
        column,
        f"remove={str(value)[:24]}",
        f"select * from {relation} where not ({cond}) order by rowid",
        removes_rows=True,
    )


# -- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """An output that changed under a perturbation without a lineage edge explaining it."""

    subject: str  # query id or model
    columns: tuple[str, ...]
    perturbation: str
    sql: str = ""
    edges: str = ""
    schema: str = ""

    def line(self) -> str:
        sql = " ".join(self.sql.split())
        sql = f" | sql: {sql[:300]}" if sql else ""
        return f"{self.subject}: {'+'.join(self.columns)} changed under {self.perturbation}{sql}"

    def markdown(self) -> str:
        parts = [
            f"### {self.subject}: `{'+'.join(self.columns)}` changed under `{self.perturbation}`",
            "",
        ]
        if self.schema:
            parts += [f"Schema: {self.schema}", ""]
        if self.sql:
            parts += ["```sql", self.sql.strip(), "```", ""]
        parts += [f"Edges the engine gave for these columns: {self.edges or '(none)'}", ""]
        return "\n".join(parts)


@dataclass
class Stats:
    """What a run did."""

    subjects: int = 0
    refused_by_engine: int = 0
    refused_by_duckdb: int = 0
    perturbations: int = 0
    executions: int = 0
    changes_checked: int = 0  # (perturbation, output column) pairs compared
    nondeterministic: int = 0
    perturbed_errors: int = 0  # perturbed runs DuckDB refused (nothing to compare)
    models: int = 0  # models mutated (the mutant oracle)
    mutants: int = 0  # mutants made (run, or refused by DuckDB or the engine)
    equivalent: int = 0  # mutants run whose rows equal the original model's
    reachable_pairs: set[tuple[str, str]] = field(default_factory=set)
    changed_reachable_pairs: set[tuple[str, str]] = field(default_factory=set)
    refusals: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def coverage(self) -> float:
        """Share of (source column, output column) pairs with a path that changed at least once."""
        if not self.reachable_pairs:
            return 0.0
        return len(self.changed_reachable_pairs & self.reachable_pairs) / len(self.reachable_pairs)

    def summary(self, what: str) -> str:
        return (
            f"{what}: {self.subjects} run, {self.refused_by_engine} refused by the engine, "
            f"{self.refused_by_duckdb} refused by DuckDB, {self.perturbations} perturbations "
            f"({self.perturbed_errors} refused by DuckDB once perturbed), "
            f"{self.executions} executions, {self.changes_checked} changes checked, "
            f"{self.nondeterministic} nondeterministic columns ignored, "
            f"{len(self.changed_reachable_pairs & self.reachable_pairs)}/"
            f"{len(self.reachable_pairs)} reachable (source, output) column pairs changed "
            f"({self.coverage:.0%}), {len(self.findings)} unexplained, {self.seconds:.1f}s"
        )


def append_findings(path: Path, title: str, findings: Sequence[Finding]) -> None:
    """Append ``findings`` under a heading to the markdown log at ``path``."""
    if not findings:
        return
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n## {title} ({stamp}, {len(findings)} finding(s))\n\n")
        for finding in findings:
            f.write(finding.markdown() + "\n")


# -- the dbt project ---------------------------------------------------------------------------


def _rel(database: str | None, schema: str | None, identifier: str) -> str:
    parts = [p for p in (database, schema, identifier) if p]
    return ".".join(f'"{p}"' for p in parts)


class ProjectOracle:
    """Every model of a compiled dbt project, run in one in-memory DuckDB connection.

    The raw tables come from landing files through the project's ingest library (plus a second
    delivery of some rows, so latest-per-key logic has work to do), the seeds from their CSV
    files; each model's compiled SQL is executed in dependency order (``create view`` /
    ``create table`` as dbt materialises it). A perturbation replaces one raw table (or seed)
    by its perturbed copy and re-runs that table's descendants; the original is restored (and
    the descendants re-run) once all perturbations of the table are done.
    """

    BASE = "oracle_base"  # the original raw tables and seeds
    SAVED = "oracle_saved"  # the baseline results of table models

    def __init__(self, manifest: Any, graph: ProjectGraph | None, *, key: bytes = b"oracle-key"):
        from dagster_project.warehouse_functions import register_functions

        self.manifest = manifest
        self.graph = graph
        self.conn = duckdb.connect(config={"threads": 1})
        databases = {n.database for n in manifest if n.database}
        self.database = databases.pop() if len(databases) == 1 else None
        if self.database:
            self.conn.execute(f"attach ':memory:' as \"{self.database}\"")
            self.conn.execute(f'use "{self.database}"')
        register_functions(self.conn, key=key)
        nodes = {n.unique_id: n for n in manifest if n.resource_type in ("model", "seed")}
        self.order = [
            uid
            for uid in TopologicalSorter(
                {uid: [d for d in n.depends_on if d in nodes] for uid, n in nodes.items()}
            ).static_order()
            if nodes[uid].resource_type == "model"
        ]
        self.models = {uid: manifest.nodes[uid] for uid in self.order}
        children: dict[str, set[str]] = defaultdict(set)
        for uid, n in self.models.items():
            for d in n.depends_on:
                children[d].add(uid)
        self._children = children
        self.baseline: dict[str, Result] = {}
        self.ignored: dict[str, tuple[set[str], bool]] = {}

    # -- data --------------------------------------------------------------------------------
    def load(self, landing: Path, *, second_delivery_every: int = 6) -> None:
        """Ingest the landing files, add a second delivery of every ``n``-th row, load seeds."""
        from dagster_project.landing.contract import TABLES
        from dagster_project.landing.load import ingest_table

        for t in TABLES:
            ingest_table(self.conn, t.source, t.name, landing, allow_synthetic=True)
            if second_delivery_every:
                rel = f"raw_{t.source}.{t.name}"
                self.conn.execute(
                    f"insert into {rel} select * replace (_delivery_date + 1 as _delivery_date, "
                    f"_source_file || '.2' as _source_file) from {rel} "
                    f"where rowid % {second_delivery_every} = 1"
                )
        for seed in self.manifest.seeds:
            path = Path(seed.root_path or self.manifest.root_path) / seed.original_file_path
            types = seed.config.get("column_types") or {}
            cols = ", ".join(f"'{c}': '{t}'" for c, t in types.items())
            opts = f", types={{{cols}}}" if cols else ""
            self.conn.execute(f'create schema if not exists "{seed.schema}"')
            self.conn.execute(
                f"create or replace table {_rel(None, seed.schema, seed.identifier)} as "
                f"select * from read_csv('{path}'{opts})"
            )
        self.conn.execute(f"create schema {self.BASE}")
        for node in self.leaves():
            self.conn.execute(
                f"create table {self.BASE}.{self._base_name(node)} as "
                f"select * from {self._leaf_rel(node)} order by rowid"
            )

    def leaves(self) -> list[Any]:
        """Sources and seeds that models read."""
        read = {d for n in self.models.values() for d in n.depends_on}
        return [
            n
            for n in self.manifest
            if n.resource_type in ("source", "seed") and n.unique_id in read
        ]

    @staticmethod
    def _base_name(node: Any) -> str:
        return re.sub(r"\W", "_", node.unique_id)

    def _leaf_rel(self, node: Any) -> str:
        return _rel(None, node.schema, node.identifier)

    # -- models ------------------------------------------------------------------------------
    def descendants(self, uid: str) -> list[str]:
        seen: set[str] = set()
        stack = [uid]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return [m for m in self.order if m in seen]

    def run(self, models: Iterable[str]) -> None:
        for uid in models:
            n = self.models[uid]
            what = "view" if n.materialized == "view" else "table"
            self.conn.execute(f'create schema if not exists "{n.schema}"')
            try:
                self.conn.execute(
                    f"create or replace {what} {_rel(None, n.schema, n.identifier)} as "
                    f"{n.compiled_code}"
                )
            except duckdb.Error as e:
                raise RuntimeError(f"{n.name}: DuckDB cannot run the compiled SQL: {e}") from None

    def read(self, uid: str) -> Result:
        n = self.models[uid]
        return read_as_text(self.conn, _rel(None, n.schema, n.identifier))

    def build_baseline(self, stats: Stats) -> list[Finding]:
        """Run every model twice; remember the results and the nondeterministic columns.
        Returns the structural findings: output columns the lineage graph does not know."""
        self.run(self.order)
        first = {uid: self.read(uid) for uid in self.order}
        self.run(self.order)
        findings = []
        for uid in self.order:
            second = self.read(uid)
            cols, pairing = nondeterministic(first[uid], second)
            self.ignored[uid] = (cols, pairing)
            stats.nondeterministic += len(cols)
            self.baseline[uid] = second
            known = set(self.graph.nodes[uid].columns) if uid in self.graph.nodes else set()
            missing = tuple(c for c in second.columns if c not in known)
            if missing:
                findings.append(
                    Finding(self.models[uid].name, missing, "none (column not in lineage graph)")
                )
        stats.subjects = len(self.order)
        self.conn.execute(f"create schema if not exists {self.SAVED}")
        for n in self.models.values():
            if n.materialized != "view":
                self.conn.execute(
                    f"create or replace table {self.SAVED}.{self._base_name(n)} as "
                    f"select * from {_rel(None, n.schema, n.identifier)} order by rowid"
                )
        return findings

    # -- perturbations -----------------------------------------------------------------------
    def perturbations(self, node: Any, *, strategies: Iterable[str] | None = None) -> list:
        """Value perturbations of every column of ``node`` and row removals by key values."""
        from dagster_project.landing.contract import CONTRACT

        allowed: dict[str, Sequence[str]] = {}
        if node.resource_type == "source":
            contract = CONTRACT.get(node.source_name, {}).get(node.name)
            if contract is not None:
                allowed = {c.name: c.allowed for c in contract.columns if c.allowed}
        base = f"{self.BASE}.{self._base_name(node)}"
        types = dict(self.conn.execute(f"select column_name, column_type from (describe {base})")
                     .fetchall())  # fmt: skip
        out: list[Perturbation] = []
        for column in node.column_names:
            col = column.lower()
            if col not in types:
                continue
            # the ingest's bookkeeping columns (_source_file ...) only order deliveries
            only = ("rotate",) if col.startswith("_") and strategies is None else strategies
            out += value_perturbations(
                node.unique_id, base, col, types[col], allowed=allowed.get(col, ()),
                strategies=only, default=True,
            )  # fmt: skip
        # Rows of one key removed: the first column (the table's key), every identity column,
        # and two allowed values of each closed-domain column.
        keys = [c for c in types if c in ("national_id", "customer_no", "person_id")]
        first = next(iter(types))
        for col in dict.fromkeys([first, *keys]):
            values = self.conn.execute(
                f'select "{col}" from {base} where "{col}" is not null order by rowid'
            ).fetchall()
            if values:
                out.append(removal(node.unique_id, base, col, values[len(values) // 2][0]))
        for col, values in allowed.items():
            out += [removal(node.unique_id, base, col, v) for v in values[:2]]
        return out

    def check_leaf(
        self, node: Any, stats: Stats, *, strategies: Iterable[str] | None = None
    ) -> list[Finding]:
        """Every perturbation of one source or seed, compared on every descendant model.

        A descendant is re-run only when one of its parents differs from the baseline (or it
        still holds the previous perturbation's result); one whose result equals the baseline
        (as a multiset of rows) counts as unchanged for its own descendants.
        """
        models = self.descendants(node.unique_id)
        if not models:
            return []
        rel = self._leaf_rel(node)
        findings: list[Finding] = []
        whole: dict[str, set[str]] = defaultdict(set)
        per_column: dict[str, dict[str, set[str]]] = {}
        for column in self.graph.nodes[node.unique_id].columns:
            reach: dict[str, set[str]] = defaultdict(set)
            for ref in self.graph.downstream(ColumnRef(node.unique_id, column)):
                reach[ref.node].add(ref.column)
                whole[ref.node].add(ref.column)
                stats.reachable_pairs.add((f"{node.unique_id}.{column}", str(ref)))
            per_column[column] = reach
        dirty: set[str] = set()  # models holding a result other than the baseline
        try:
            for p in self.perturbations(node, strategies=strategies):
                self.conn.execute(f"create or replace table {rel} as {p.sql}")
                stats.perturbations += 1
                reach = whole if p.removes_rows else per_column.get(p.column, {})
                changed = {node.unique_id}
                for uid in models:
                    inputs_changed = any(d in changed for d in self.models[uid].depends_on)
                    if not inputs_changed:
                        if uid in dirty:
                            self._restore(uid)
                            dirty.discard(uid)
                        continue
                    try:
                        if self.models[uid].materialized != "view":
                            dirty.add(uid)
                            self.run([uid])
                        stats.executions += 1
                        new = self.read(uid)
                    except (RuntimeError, duckdb.Error):  # a cast fails on a perturbed value
                        stats.perturbed_errors += 1
                        break
                    base = self.baseline[uid]
                    stats.changes_checked += len(base.columns)
                    if new.same_rows(base):
                        continue
                    changed.add(uid)
                    ignore, pairing_random = self.ignored[uid]
                    if not p.removes_rows:
                        for c in changed_columns(base, new) - ignore:
                            stats.changed_reachable_pairs.add(
                                (f"{node.unique_id}.{p.column}", f"{uid}.{c}")
                            )
                    for group in unexplained(
                        base, new, reach.get(uid, set()), ignore=ignore, pairing=not pairing_random
                    ):
                        findings.append(
                            Finding(
                                self.models[uid].name,
                                group,
                                f"{node.label}.{p.column}:{p.strategy}",
                                edges=self._edges(uid, group),
                            )
                        )
        finally:
            self.conn.execute(
                f"create or replace table {rel} as select * from {self.BASE}."
                f"{self._base_name(node)} order by rowid"
            )
            for uid in dirty:
                self._restore(uid)
        return findings

    def _restore(self, uid: str) -> None:
        """Put the baseline result of table model ``uid`` back (copied after the baseline)."""
        n = self.models[uid]
        self.conn.execute(
            f"create or replace table {_rel(None, n.schema, n.identifier)} as "
            f"select * from {self.SAVED}.{self._base_name(n)} order by rowid"
        )

    def _edges(self, uid: str, columns: Iterable[str]) -> str:
        parts = []
        for c in columns:
            ins = self.graph.inputs(ColumnRef(uid, c))
            shown = sorted({f"{e.source.node.split('.')[-1]}.{e.source.column}" for e in ins})
            parts.append(f"{c} <- {', '.join(shown[:12])}{' ...' if len(shown) > 12 else ''}")
        return "; ".join(parts)


def compile_from_scratch(compile_project, project_dir: Path, target: Path):
    """The project compiled against an empty scratch warehouse (for the oracle and the tests'
    ``real_project`` fixture): the oracle runs every model from nothing, so an incremental model
    needs its full-build branch in the manifest.json the workers read (a built warehouse, a
    developer's ``data/`` or one an earlier test exported, would make it the ``is_incremental()``
    branch, which reads the model itself)."""
    from catalog.settings import WAREHOUSE_ENV

    scratch = target / "scratch" / "warehouse.duckdb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    before = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(scratch)
    try:
        return compile_project(project_dir, target_path=target)
    finally:
        if before is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = before


def project_oracle(
    project_dir: Path,
    work: Path,
    *,
    persons: int = 400,
    seed: int = 7,
    strategies: Iterable[str] | None = None,
) -> tuple[Stats, list[Finding]]:
    """Compile the project, generate landing data, run the oracle over every source column."""
    from catalog.lineage import build_project_graph
    from catalog.manifest import compile_project
    from dagster_project.landing.generate import generate

    t0 = time.perf_counter()
    manifest = compile_from_scratch(compile_project, project_dir, work / "target")
    graph = build_project_graph(manifest, dialect=manifest.adapter_type or "duckdb")
    landing = work / "landing"
    if not landing.exists():
        generate(landing, persons=persons, seed=seed, as_of=dt.date(2026, 11, 2), progress=False)
    oracle = ProjectOracle(manifest, graph)
    oracle.load(landing)
    stats = Stats()
    findings = oracle.build_baseline(stats)
    for node in oracle.leaves():
        findings += oracle.check_leaf(node, stats, strategies=strategies)
    stats.findings = findings
    stats.seconds = time.perf_counter() - t0
    return stats, findings


# -- generated queries -------------------------------------------------------------------------

# Column types of the generated schema: I integer, S varchar, D date, B boolean, L varchar[].
I, S, D, B, L = "I", "S", "D", "B", "L"  # noqa: E741
_SQL_TYPES = {I: "INTEGER", S: "VARCHAR", D: "DATE", B: "BOOLEAN", L: "VARCHAR[]"}

GEN_TABLES: dict[str, dict[str, str]] = {
    "people": {"id": I, "name": S, "city": S, "born": D, "vip": B, "score": I},
    "orders": {"oid": I, "pid": I, "product": S, "amount": I, "ordered": D, "paid": B},
    "products": {"code": S, "category": S, "price": I, "active": B},
    "events": {"pid": I, "kind": S, "happened": D, "tags": L},
}
GEN_SCHEMA = "s"  # the queries read s.<table>; s.<table> is a view over the data in use
# closed domains: the value rotation of a "domain" perturbation stays inside them
GEN_DOMAINS = {
    ("people", "city"): ("oslo", "bergen", "tromso", "bodo"),
    ("orders", "product"): ("p1", "p2", "p3", "p4", "p5", "p9"),
    ("products", "code"): ("p1", "p2", "p3", "p4", "p5", "p6", "p7"),
    ("products", "category"): ("fund", "stock", "loan"),
    ("events", "kind"): ("view", "click", "buy"),
}


def generated_schema() -> dict[str, dict[str, dict[str, str]]]:
    """The sqlglot-style schema of the generated tables."""
    return {
        GEN_SCHEMA: {
            t: {c: _SQL_TYPES[k] for c, k in cols.items()} for t, cols in GEN_TABLES.items()
        }
    }


def _gen_value(rng: random.Random, table: str, column: str, kind: str, n: int) -> Any:
    if rng.random() < 0.1 and column not in ("oid",):
        return None
    domain = GEN_DOMAINS.get((table, column))
    if domain:
        return rng.choice(domain)
    if kind == I:
        if column in ("id", "pid"):
            return rng.randint(1, 14)
        return rng.randint(0, 6) if rng.random() < 0.5 else rng.randint(0, 120)
    if kind == S:
        return rng.choice(("ada", "bo", "cy", "di", "ed", "fay", "gus", "Al", "b o", "ada"))
    if kind == D:
        return dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
    if kind == B:
        return rng.random() < 0.5
    return [rng.choice("abcd") for _ in range(rng.randint(0, 3))]


def make_generated_tables(conn: duckdb.DuckDBPyConnection, seed: int = 11) -> None:
    """The small data set of the generated queries: a few dozen rows per table with NULLs and
    duplicate keys, in schema ``oracle_gen``; ``s.<table>`` views read it."""
    rng = random.Random(seed)
    sizes = {"people": 24, "orders": 36, "products": 9, "events": 30}
    conn.execute("create schema if not exists oracle_gen")
    conn.execute(f"create schema if not exists {GEN_SCHEMA}")
    for table, cols in GEN_TABLES.items():
        decl = ", ".join(f"{c} {_SQL_TYPES[k]}" for c, k in cols.items())
        conn.execute(f"create or replace table oracle_gen.{table} ({decl})")
        rows = []
        for i in range(sizes[table]):
            row = [_gen_value(rng, table, c, k, i) for c, k in cols.items()]
            if table == "orders":
                row[0] = i + 1
            rows.append(row)
        conn.executemany(
            f"insert into oracle_gen.{table} values ({', '.join('?' for _ in cols)})", rows
        )
        conn.execute(
            f"create or replace view {GEN_SCHEMA}.{table} as select * from oracle_gen.{table}"
        )


@dataclass
class _Rel:
    """A relation in a FROM clause: its alias and columns (name -> kind)."""

    alias: str
    columns: dict[str, str]


class QueryGenerator:
    """Random DuckDB queries over :data:`GEN_TABLES` in the shapes data engineers write.

    Deterministic for a seed. Every output column has an alias (``c0``, ``c1``, ...), except
    for ``*`` shapes, so that outputs are named the same by DuckDB and by the engine.
    """

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.n = 0

    # -- helpers -------------------------------------------------------------------------------
    def _alias(self, prefix: str = "t") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _cols(self, scope: Sequence[_Rel], kind: str) -> list[str]:
        return [f"{r.alias}.{c}" for r in scope for c, k in r.columns.items() if k == kind]

    def key(self, scope: Sequence[_Rel]) -> str:
        """A column of the scope (never a literal: GROUP BY / ORDER BY keys), else 1 = 1."""
        cols = [f"{x.alias}.{c}" for x in scope for c, k in x.columns.items() if k != L]
        return self.rng.choice(cols) if cols else "(1 = 1)"

    def literal(self, kind: str) -> str:
        r = self.rng
        if kind == I:
            return str(r.randint(0, 60))
        if kind == S:
            return r.choice(("'ada'", "'oslo'", "'p3'", "'view'", "'fund'", "'x'"))
        if kind == D:
            return f"date '2021-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}'"
        if kind == B:
            return r.choice(("true", "false"))
        return r.choice(("['a', 'b']", "['c']"))

    # -- expressions ---------------------------------------------------------------------------
    def expr(self, kind: str, scope: Sequence[_Rel], depth: int = 2) -> str:
        cols = self._cols(scope, kind)
        if depth <= 0 or self._chance(0.35):
            if cols and self._chance(0.85):
                return self.rng.choice(cols)
            return self.literal(kind)
        e = lambda k, d=depth - 1: self.expr(k, scope, d)  # noqa: E731
        r = self.rng
        table_rels = [x for x in scope if x.columns]
        whole = r.choice(table_rels).alias if table_rels else None
        if kind == I:
            options = [
                lambda: f"({e(I)} + {e(I)})",
                lambda: f"({e(I)} * 2 - {e(I)})",
                lambda: f"length({e(S)})",
                lambda: f"year({e(D)})",
                lambda: f"coalesce({e(I)}, {e(I)})",
                lambda: f"case when {e(B)} then {e(I)} else {e(I)} end",
                lambda: f"if({e(B)}, {e(I)}, {e(I)})",
                lambda: f"({e(I)} % 7)",
                lambda: f"date_diff('day', {e(D)}, {e(D)})",
                lambda: f"len({e(L)})",
                lambda: f"(select count(*) from {GEN_SCHEMA}.orders as so where so.pid = {e(I)})",
                lambda: f"(select max(sp.price) from {GEN_SCHEMA}.products as sp)",
                lambda: f"case {e(S)} when 'ada' then 1 when 'oslo' then 2 else {e(I)} end",
                lambda: f"{{'k': {e(I)}, 'v': {e(S)}}}.k",
                lambda: f"list_sum(list_transform({e(L)}, lambda x: length(x)))",
            ]
            if whole:
                options.append(lambda: f"length(to_json({whole}))")
        elif kind == S:
            options = [
                lambda: f"upper({e(S)})",
                lambda: f"({e(S)} || '-' || {e(S)})",
                lambda: f"coalesce({e(S)}, {e(S)})",
                lambda: f"case when {e(B)} then {e(S)} else {e(S)} end",
                lambda: f"cast({e(I)} as varchar)",
                lambda: f"substr({e(S)}, 1, 2)",
                lambda: f"concat_ws('/', {e(S)}, {e(I)})",
                lambda: f"{e(L)}[1]",
                lambda: f"array_to_string(list_transform({e(L)}, lambda x: x || {e(S)}), ',')",
                lambda: f"strftime({e(D)}, '%Y-%m')",
                lambda: f"{{'a': {e(S)}, 'b': {e(I)}}}.a",
                lambda: (
                    f"(select min(sp.category) from {GEN_SCHEMA}.products as sp "
                    f"where sp.code = {e(S)})"
                ),
            ]
            if whole:
                options += [
                    lambda: f"cast(to_json({whole}) as varchar)",
                    lambda: f"md5(cast({whole} as varchar))",
                ]
        elif kind == D:
            options = [
                lambda: f"({e(D)} + {r.randint(1, 40)})",
                lambda: f"greatest({e(D)}, {e(D)})",
                lambda: f"coalesce({e(D)}, {e(D)})",
                lambda: f"case when {e(B)} then {e(D)} else {e(D)} end",
            ]
        elif kind == B:
            options = [
                lambda: f"({e(I)} < {e(I)})",
                lambda: f"({e(I)} = {e(I)})",
                lambda: f"({e(S)} = {e(S)})",
                lambda: f"({e(S)} like 'a%')",
                lambda: f"({e(B)} and {e(B)})",
                lambda: f"({e(B)} or {e(B)})",
                lambda: f"(not {e(B)})",
                lambda: f"({e(I)} is null)",
                lambda: f"({e(I)} in (1, 2, 3, 5, 8))",
                lambda: f"({e(D)} > {self.literal(D)})",
                lambda: f"list_contains({e(L)}, 'a')",
                lambda: f"({e(I)} between 2 and 9)",
                lambda: f"({e(I)} in (select so.pid from {GEN_SCHEMA}.orders as so where so.paid))",
                lambda: (
                    f"exists (select 1 from {GEN_SCHEMA}.events as se where se.pid = {e(I)} "
                    f"and se.kind = 'buy')"
                ),
                lambda: (
                    f"not exists (select 1 from {GEN_SCHEMA}.products as sp "
                    f"where sp.code = {e(S)} and sp.active)"
                ),
                lambda: (
                    f"({e(I)} > all (select so.amount from {GEN_SCHEMA}.orders as so "
                    f"where so.paid))"
                ),
                lambda: f"({e(I)} = any (select sp.price from {GEN_SCHEMA}.products as sp))",
            ]
        else:  # L
            options = [
                lambda: f"list_filter({e(L)}, lambda x: x <> {e(S)})",
                lambda: f"[{e(S)}, {e(S)}]",
                lambda: f"list_sort({e(L)})",
                lambda: f"[x || 'y' for x in {e(L)} if x <> {e(S)}]",
                lambda: f"string_split({e(S)}, 'a')",
                lambda: f"list_concat({e(L)}, [{e(S)}])",
            ]
        return r.choice(options)()

    def aggregate(self, scope: Sequence[_Rel]) -> tuple[str, str]:
        """An aggregate expression and its kind."""
        r = self.rng
        e = lambda k: self.expr(k, scope, 1)  # noqa: E731
        table_rels = [x for x in scope if x.columns]
        options: list[Callable[[], tuple[str, str]]] = [
            lambda: ("count(*)", I),
            lambda: (f"count(distinct {e(S)})", I),
            lambda: (f"count({e(I)})", I),
            lambda: (f"sum({e(I)})", I),
            lambda: (f"min({e(D)})", D),
            lambda: (f"max({e(S)})", S),
            lambda: (f"string_agg({e(S)}, ',' order by {self.key(scope)}, {e(I)})", S),
            lambda: (f"arg_max({e(S)}, {e(I)})", S),
            lambda: (f"bool_or({e(B)})", B),
            lambda: (f"count(*) filter (where {e(B)})", I),
            lambda: (f"list({e(I)} order by {self.key(scope)})", S),
        ]
        if table_rels:
            whole = r.choice(table_rels).alias
            options.append(lambda: (f"cast(list({whole}) as varchar)", S))
        expr, kind = r.choice(options)()
        if kind == S and expr.startswith("list("):
            expr = f"cast({expr} as varchar)"
        if kind == I and expr.startswith("sum("):
            expr = f"cast({expr} as integer)"
        return expr, kind

    def window(self, scope: Sequence[_Rel]) -> tuple[str, str]:
        r = self.rng
        e = lambda k: self.expr(k, scope, 1)  # noqa: E731
        part = f"partition by {self.key(scope)} " if self._chance(0.7) else ""
        order = f"order by {self.key(scope)}, {self.key(scope)}"
        func, kind = r.choice(
            (
                ("row_number()", I),
                ("rank()", I),
                ("dense_rank()", I),
                (f"lag({e(S)})", S),
                (f"lead({e(I)}, 1, 0)", I),
                (f"sum({e(I)})", I),
                (f"first_value({e(D)})", D),
                ("count(*)", I),
            )
        )
        if func.startswith("sum("):
            frame = " rows between 1 preceding and current row" if self._chance(0.4) else ""
            return f"cast({func} over ({part}{order}{frame}) as integer)", kind
        return f"{func} over ({part}{order})", kind

    # -- relations -----------------------------------------------------------------------------
    def table(self, ctes: Mapping[str, dict[str, str]]) -> tuple[str, _Rel]:
        alias = self._alias()
        if ctes and self._chance(0.5):
            name = self.rng.choice(sorted(ctes))
            return f"{name} as {alias}", _Rel(alias, dict(ctes[name]))
        name = self.rng.choice(sorted(GEN_TABLES))
        return f"{GEN_SCHEMA}.{name} as {alias}", _Rel(alias, dict(GEN_TABLES[name]))

    def from_clause(self, ctes: Mapping[str, dict[str, str]], depth: int) -> tuple[str, list[_Rel]]:
        r = self.rng
        if depth > 0 and self._chance(0.2):
            alias = self._alias("d")
            sub, cols = self.query(ctes, depth - 1)
            first, rel = f"({sub}) as {alias}", _Rel(alias, cols)
        else:
            first, rel = self.table(ctes)
        sql, scope = first, [rel]
        lists = self._cols(scope, L)
        if lists and self._chance(0.15):  # a lateral unnest: rows multiply by the list's length
            alias = self._alias("u")
            sql += f" cross join unnest({r.choice(lists)}) as {alias}(tag)"
            scope.append(_Rel(alias, {"tag": S}))
        ints = self._cols(scope, I)
        if ints and self._chance(0.08):  # a lateral series as long as a value says
            alias = self._alias("g")
            sql += f" cross join generate_series(1, least({r.choice(ints)}, 3)) as {alias}(n)"
            scope.append(_Rel(alias, {"n": I}))
        if self._chance(0.08):
            alias = self._alias("v")
            sql += (
                f" left join (values (1, 'oslo'), (4, 'bergen'), (9, 'x')) as {alias}(k, place)"
                f" on {r.choice(ints)} = {alias}.k"
                if ints
                else f" cross join (values (1, 'oslo'), (4, 'bergen')) as {alias}(k, place)"
            )
            scope.append(_Rel(alias, {"k": I, "place": S}))
        for _ in range(r.choice((0, 0, 1, 1, 1, 2))):
            right, rrel = self.table(ctes)
            how = r.choice(
                ("join", "left join", "right join", "full join", "cross join", "semi join",
                 "anti join", "join")
            )  # fmt: skip
            if how == "cross join":
                sql += f" cross join {right}"
                scope.append(rrel)
                continue
            pairs = [
                (f"{a.alias}.{c}", f"{rrel.alias}.{d}")
                for a in scope
                for c, k in a.columns.items()
                for d, kk in rrel.columns.items()
                if k == kk and k in (I, S)
            ]
            if not pairs:
                sql += f" cross join {right}"
                scope.append(rrel)
                continue
            left, rightcol = r.choice(pairs)
            same = [
                c
                for c, k in rrel.columns.items()
                if c in scope[-1].columns and scope[-1].columns[c] == k and k != L
            ]
            if same and how in ("join", "left join") and self._chance(0.3):
                sql += f" {how} {right} using ({r.choice(same)})"
                scope.append(rrel)
                continue
            on = f"{left} = {rightcol}"
            if self._chance(0.3):
                on += f" and {self.expr(B, [*scope, rrel], 1)}"
            sql += f" {how} {right} on {on}"
            if how not in ("semi join", "anti join"):
                scope.append(rrel)
        return sql, scope

    # -- queries -------------------------------------------------------------------------------
    def query(
        self,
        ctes: Mapping[str, dict[str, str]] | None = None,
        depth: int = 2,
        kinds: Sequence[str] | None = None,
    ) -> tuple[str, dict[str, str]]:
        """One SELECT (or set operation); returns its SQL and output columns (name -> kind).
        ``kinds`` forces the output column kinds (set-operation branches)."""
        ctes = dict(ctes or {})
        r = self.rng
        if kinds is None and depth > 0 and self._chance(0.15):
            return self.set_operation(ctes, depth)
        from_sql, scope = self.from_clause(ctes, depth)
        shape = r.choice(("plain", "plain", "aggregate", "window"))
        if kinds is not None and shape == "aggregate" and len(kinds) > 3:
            shape = "plain"
        want = list(kinds) if kinds is not None else [
            r.choice((I, I, S, S, D, B, L)) for _ in range(r.randint(1, 4))
        ]  # fmt: skip
        items: list[str] = []
        where = f" where {self.expr(B, scope)}" if self._chance(0.5) else ""
        tail = ""
        if shape == "aggregate":
            keys = [self.expr(k, scope, 1) for k in want[: r.randint(0, min(2, len(want)))]]
            items = list(keys)
            for k in want[len(keys) :]:
                agg, kind = self.aggregate(scope)
                items.append(agg if kind == k else self._coerce(agg, kind, k))
            if keys and self._chance(0.2):
                tail += " group by all"
            elif keys and self._chance(0.1):
                tail += f" group by rollup ({', '.join(str(i + 1) for i in range(len(keys)))})"
            elif keys:  # by position, as often as by expression
                tail += " group by " + ", ".join(
                    str(i + 1) if self._chance(0.5) or re.fullmatch(r"[\w' -]+", x) else x
                    for i, x in enumerate(keys)
                )
            if self._chance(0.3):
                agg, kind = self.aggregate(scope)
                if kind == I:
                    tail += f" having {agg} > {r.randint(0, 3)}"
        else:
            for k in want:
                if shape == "window" and self._chance(0.5):
                    w, kind = self.window(scope)
                    items.append(w if kind == k else self._coerce(w, kind, k))
                else:
                    items.append(self.expr(k, scope))
            if shape == "window" and self._chance(0.3):
                w, kind = self.window(scope)
                tail += f" qualify {w} <= 2" if kind == I else f" qualify {w} is not null"
        distinct = "distinct " if self._chance(0.15) and L not in want else ""
        if not distinct and shape == "plain" and self._chance(0.05):
            distinct = f"distinct on ({self.key(scope)}) "
        if kinds is None and self._chance(0.1) and not distinct and shape == "plain":
            # unnest in the select list: rows multiply by the list's length
            items.append(f"unnest({self.expr(L, scope, 1)})")
            want.append(S)
        names = [f"c{i}" for i in range(len(items))]
        select = ", ".join(f"{x} as {n}" for x, n in zip(items, names, strict=True))
        if kinds is None and shape == "plain" and not distinct and self._chance(0.08):
            rel = r.choice(scope)
            if rel.columns:  # alias.* as well
                extra = {f"{c}": k for c, k in rel.columns.items() if c not in names}
                if len(extra) == len(rel.columns):
                    select += f", {rel.alias}.*"
                    names += list(extra)
                    want += list(extra.values())
        order = ""
        if kinds is None and self._chance(0.25):
            order = f" order by {', '.join(str(i + 1) for i in range(len(names)))}"
            if self._chance(0.7):
                order += f" limit {r.randint(1, 8)}"
        sql = f"select {distinct}{select} from {from_sql}{where}{tail}{order}"
        return sql, dict(zip(names, want, strict=True))

    def _coerce(self, expr: str, have: str, want: str) -> str:
        if want == S:
            return f"cast({expr} as varchar)"
        if want == I:
            return f"length(cast({expr} as varchar))"
        if want == B:
            return f"({expr} is null)"
        if want == D:
            return f"(date '2021-01-01' + cast(length(cast({expr} as varchar)) as integer))"
        return f"[cast({expr} as varchar)]"

    def set_operation(self, ctes: Mapping[str, dict[str, str]], depth: int):
        r = self.rng
        kinds = [r.choice((I, S, D, B)) for _ in range(r.randint(1, 3))]
        left, cols = self.query(ctes, depth - 1, kinds)
        right, _ = self.query(ctes, depth - 1, kinds)
        op = r.choice(
            ("union", "union all", "intersect", "except", "union by name", "union all by name",
             "intersect all", "except all")
        )  # fmt: skip
        return f"({left}) {op} ({right})", cols

    def statement(self) -> str:
        """A full query, often with a chain of CTEs."""
        ctes: dict[str, dict[str, str]] = {}
        parts = []
        recursive = ""
        if self._chance(0.05):
            name = self._alias("rec")
            parts.append(
                f"{name}(c0, c1) as (select p.id, 1 from {GEN_SCHEMA}.people as p where p.vip "
                f"union all select r.c0, r.c1 + 1 from {name} as r where r.c1 < 3)"
            )
            ctes[name] = {"c0": I, "c1": I}
            recursive = "recursive "
        if self._chance(0.04):
            table = self.rng.choice(sorted(GEN_TABLES))
            col = self.rng.choice(sorted(GEN_TABLES[table]))
            return f"select * exclude ({col}) from {GEN_SCHEMA}.{table}"
        for _ in range(self.rng.choice((0, 0, 1, 2, 3))):
            name = self._alias("cte")
            sql, cols = self.query(ctes, 1)
            parts.append(f"{name} as ({sql})")
            ctes[name] = cols
        sql, _ = self.query(ctes, 2)
        if self._chance(0.1) and ctes:
            # a CTE alias selected as a column (the whole row as a struct)
            name = self.rng.choice(sorted(ctes))
            sql = f"select cast({name} as varchar) as c0 from {name}"
        with_ = f"with {recursive}{', '.join(parts)} " if parts else ""
        return with_ + sql


class GeneratedOracle:
    """The generated tables in one DuckDB connection, with every perturbation of every column
    prepared as a table; a perturbation swaps the view ``s.<table>`` onto its perturbed copy."""

    def __init__(self, seed: int = 11):
        self.conn = duckdb.connect(config={"threads": 1})
        make_generated_tables(self.conn, seed)
        self.conn.execute("create schema oracle_pert")
        self.perturbations: dict[str, list[tuple[Perturbation, str]]] = {}
        for table, cols in GEN_TABLES.items():
            base = f"oracle_gen.{table}"
            name = f"{GEN_SCHEMA}.{table}"
            found: list[Perturbation] = []
            for col, kind in cols.items():
                found += value_perturbations(
                    name, base, col, _SQL_TYPES[kind], allowed=GEN_DOMAINS.get((table, col), ())
                )
                values = [v for (v,) in self.conn.execute(
                    f"select {col} from {base} where {col} is not null order by rowid"
                ).fetchall()]  # fmt: skip
                if values and kind != L:
                    found.append(removal(name, base, col, values[len(values) // 2]))
            prepared = []
            for i, p in enumerate(found):
                copy = f"oracle_pert.{table}_{i}"
                self.conn.execute(f"create table {copy} as {p.sql}")
                prepared.append((p, copy))
            self.perturbations[table] = prepared
            # the rows in reverse order: a result that depends on it is nondeterministic SQL
            self.conn.execute(
                f"create table oracle_pert.{table}_reversed as "
                f"select * from {base} order by rowid desc"
            )
        self.schema = generated_schema()

    def check(
        self,
        qid: str,
        sql: str,
        stats: Stats,
        lineage: QueryLineage | None = None,
        *,
        sample: int | None = None,
    ) -> list[Finding]:
        """Run ``sql`` on the data and under the perturbations of the tables it reads (each
        ``s.<table>`` replaced by a perturbed copy); return the unexplained changes.

        ``lineage`` defaults to the engine's. ``sample``: that many value perturbations per
        column and two row removals per table, drawn with the query id as seed; None: all.
        """
        try:
            first = Result.of(self.conn.execute(sql))
            second = Result.of(self.conn.execute(sql))
        except duckdb.Error:
            stats.refused_by_duckdb += 1
            return []
        if lineage is None:
            try:
                lineage = query_lineage(sql, schema=self.schema)
            except LineageError as e:
                stats.refused_by_engine += 1
                stats.refusals[re.sub(r"\b(t|d|cte)\d+\b", "_", e.what)[:90]] += 1
                return []
        stats.subjects += 1
        if len(lineage.columns) != len(first.columns):
            return [
                Finding(qid, tuple(first.columns), "none (the engine names "
                        f"{len(lineage.columns)} output columns, DuckDB {len(first.columns)})",
                        sql=sql, schema=_schema_line())
            ]  # fmt: skip
        names = first.columns
        ignore, pairing_random = nondeterministic(first, second)
        # Ties (a window or LIMIT whose ORDER BY is not total) are broken by the physical row
        # order: what changes when every table's rows come in reverse order is ignored too.
        reversed_sql = sql
        for table in GEN_TABLES:
            reversed_sql = re.sub(
                rf"\b{GEN_SCHEMA}\.{table}\b", f"oracle_pert.{table}_reversed", reversed_sql
            )
        try:
            order_cols, order_pairing = nondeterministic(
                second, Result.of(self.conn.execute(reversed_sql))
            )
        except duckdb.Error:
            order_cols, order_pairing = set(names), True
        ignore |= order_cols
        pairing_random |= order_pairing
        stats.nondeterministic += len(ignore)
        reads: list[set[tuple[str, str]]] = []
        dataset = {(d.table, d.column) for d in lineage.dataset}
        for name in lineage.columns:
            reads.append({(d.table, d.column) for d in lineage.fields[name]} | dataset)
        findings: list[Finding] = []
        tables = sorted(set(re.findall(rf"\b{GEN_SCHEMA}\.(\w+)\b", sql)) & set(GEN_TABLES))
        rng = random.Random(qid)
        for table in tables:
            name = f"{GEN_SCHEMA}.{table}"
            chosen = self.perturbations[table]
            if sample is not None:  # a few strategies per column, and every removal
                by_column: dict[str, list] = defaultdict(list)
                for p, copy in chosen:
                    by_column[p.column].append((p, copy))
                chosen = []
                removals = []
                for ps in by_column.values():
                    values = [x for x in ps if not x[0].removes_rows]
                    chosen += rng.sample(values, min(sample, len(values)))
                    removals += [x for x in ps if x[0].removes_rows]
                chosen += rng.sample(removals, min(2, len(removals)))
            pattern = re.compile(rf"\b{GEN_SCHEMA}\.{table}\b")
            for p, copy in chosen:
                if True:
                    try:
                        new = Result.of(self.conn.execute(pattern.sub(copy, sql)))
                    except duckdb.Error:  # e.g. a cast that fails on a perturbed value
                        stats.perturbed_errors += 1
                        continue
                    stats.perturbations += 1
                    stats.executions += 1
                    stats.changes_checked += len(names)
                    if p.removes_rows:
                        reach = {
                            names[i] for i, r in enumerate(reads) if any(t == name for t, _ in r)
                        }
                    else:
                        reach = {names[i] for i, r in enumerate(reads) if (name, p.column) in r}
                        for c in changed_columns(second, new) - ignore:
                            stats.changed_reachable_pairs.add(
                                (f"{qid}.{name}.{p.column}", f"{qid}.{c}")
                            )
                        for c in reach:
                            stats.reachable_pairs.add((f"{qid}.{name}.{p.column}", f"{qid}.{c}"))
                    for group in unexplained(
                        second, new, reach, ignore=ignore, pairing=not pairing_random
                    ):
                        findings.append(
                            Finding(qid, group, f"{p.label}", sql=sql, schema=_schema_line(),
                                    edges=_query_edges(lineage, group))
                        )  # fmt: skip
        return findings


def _schema_line() -> str:
    return "; ".join(
        f"{GEN_SCHEMA}.{t}({', '.join(f'{c} {_SQL_TYPES[k]}' for c, k in cols.items())})"
        for t, cols in GEN_TABLES.items()
    )


def _query_edges(lineage: QueryLineage, columns: Iterable[str]) -> str:
    dataset = sorted({f"{d.table}.{d.column}:{d.subtype}" for d in lineage.dataset})
    parts = []
    for c in columns:
        deps = sorted({f"{d.table}.{d.column}:{d.subtype}" for d in lineage.fields.get(c, ())})
        parts.append(f"{c} <- {', '.join(deps) or '-'}")
    parts.append(f"dataset <- {', '.join(dataset) or '-'}")
    return "; ".join(parts)


def generated_oracle(
    count: int = 500,
    *,
    seed: int = 1,
    sample: int | None = 1,
    part: tuple[int, int] = (0, 1),
) -> tuple[Stats, list[Finding]]:
    """The first ``count`` generated queries that DuckDB runs, each checked under sampled
    perturbations (``sample``, see :meth:`GeneratedOracle.check`). ``part`` = (k, n): only
    every n-th query from the k-th (the corpus is the same whatever the split)."""
    t0 = time.perf_counter()
    oracle = GeneratedOracle()
    gen = QueryGenerator(seed)
    stats = Stats()
    probe = duckdb.connect(config={"threads": 1})
    make_generated_tables(probe)
    accepted = 0
    i = 0
    while accepted < count:
        sql = gen.statement()
        qid = f"q{seed}-{i}"
        i += 1
        try:
            probe.execute(sql).fetchall()
        except duckdb.Error:
            if part[0] == 0:
                stats.refused_by_duckdb += 1
            continue
        accepted += 1
        if (accepted - 1) % part[1] == part[0]:
            stats.findings += oracle.check(qid, sql, stats, sample=sample)
    stats.seconds = time.perf_counter() - t0
    return stats, stats.findings


# -- mutated project models --------------------------------------------------------------------

# The mutator rewrites a model's compiled SQL (sqlglot) into shapes other teams write; each
# mutation returns the rewritten tree, or None when the model has nothing it applies to.


def _selects(tree: exp.Expression) -> list[exp.Select]:
    return list(tree.find_all(exp.Select))


def _inline_ctes(tree: exp.Expression) -> exp.Expression | None:
    """Every CTE inlined as a derived table (named as the reference was), last CTE first."""
    with_ = tree.args.get("with_")
    if with_ is None or with_.args.get("recursive"):
        return None
    ctes = list(with_.expressions)
    tree.set("with_", None)
    for cte in reversed(ctes):
        name = cte.alias_or_name.lower()
        for table in list(tree.find_all(exp.Table)):
            if table.name.lower() == name and not table.args.get("db"):
                alias = table.alias or cte.alias_or_name
                table.replace(
                    exp.Subquery(
                        this=cte.this.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias))
                    )
                )
    return tree if len(tree.sql()) < 200_000 else None


def _where_into_on(tree: exp.Expression) -> exp.Expression | None:
    """A WHERE predicate moved into the last join's ON, in selects whose joins are all inner."""
    done = False
    for select in _selects(tree):
        joins = select.args.get("joins") or []
        where = select.args.get("where")
        if (
            not joins
            or where is None
            or not all(
                j.kind.upper() in ("", "INNER") and not j.side and j.args.get("on") for j in joins
            )
        ):
            continue
        last = joins[-1]
        last.set("on", exp.and_(last.args["on"].copy(), where.this.copy()))
        select.set("where", None)
        done = True
    return tree if done else None


def _join_as_semi(tree: exp.Expression, exists: bool) -> exp.Expression | None:
    """``inner join x on a.k = x.k`` whose ``x`` is used only there, as ``a.k in (select k
    from x)`` (or ``exists``). Not equivalent when ``x.k`` repeats (rows are then not doubled)."""
    done = False
    for select in _selects(tree):
        joins = select.args.get("joins") or []
        for join in list(joins):
            on = join.args.get("on")
            target = join.this
            if (
                join.kind.upper() not in ("", "INNER")
                or join.side
                or not isinstance(on, exp.EQ)
                or not isinstance(target, exp.Table)
            ):
                continue
            alias = target.alias_or_name.lower()
            inner = [
                c
                for c in (on.this, on.expression)
                if isinstance(c, exp.Column) and c.table.lower() == alias
            ]
            outer = [
                c
                for c in (on.this, on.expression)
                if isinstance(c, exp.Column) and c.table and c.table.lower() != alias
            ]
            if len(inner) != 1 or len(outer) != 1:
                continue
            others = [
                c
                for c in select.find_all(exp.Column)
                if c.table.lower() == alias and not c.find_ancestor(exp.Join)
            ]
            unqualified = any(not c.table for c in select.find_all(exp.Column))
            if others or unqualified or any(e.find(exp.Star) for e in select.expressions):
                continue
            key = inner[0]
            source = exp.Table(
                this=target.this.copy(),
                db=target.args.get("db"),
                catalog=target.args.get("catalog"),
            )
            if target.alias:
                source.set("alias", exp.TableAlias(this=exp.to_identifier(target.alias)))
            if exists:
                sub = (
                    exp.select("1")
                    .from_(source)
                    .where(exp.EQ(this=key.copy(), expression=outer[0].copy()))
                )
                cond: exp.Expression = exp.Exists(this=sub)
            else:
                sub = exp.select(key.copy()).from_(source)
                cond = exp.In(this=outer[0].copy(), query=exp.Subquery(this=sub))
            join.pop()
            select.where(cond, copy=False)
            done = True
            break
    return tree if done else None


def _case_as_if(tree: exp.Expression) -> exp.Expression | None:
    """``case when c then a else b end`` as ``if(c, a, b)``."""
    done = False
    for case in list(tree.find_all(exp.Case)):
        ifs = case.args.get("ifs") or []
        if case.this is None and len(ifs) == 1:
            default = case.args.get("default") or exp.null()
            case.replace(
                exp.Anonymous(
                    this="if",
                    expressions=[ifs[0].this.copy(), ifs[0].args["true"].copy(), default.copy()],
                )
            )
            done = True
    return tree if done else None


def _coalesce_as_case(tree: exp.Expression) -> exp.Expression | None:
    """``coalesce(a, b)`` as ``case when a is not null then a else b end``."""
    done = False
    for co in list(tree.find_all(exp.Coalesce)):
        args = [co.this, *co.expressions]
        case = exp.Case(
            ifs=[
                exp.If(
                    this=exp.Not(this=exp.Is(this=a.copy(), expression=exp.null())), true=a.copy()
                )
                for a in args[:-1]
            ],
            default=args[-1].copy(),
        )
        co.replace(case)
        done = True
    return tree if done else None


def _union_swapped(tree: exp.Expression) -> exp.Expression | None:
    """The branches of a UNION (ALL) swapped where both name their columns alike."""
    done = False
    for union in list(tree.find_all(exp.Union)):
        left, right = union.this, union.expression
        if (
            isinstance(left, exp.Select)
            and isinstance(right, exp.Select)
            and left.named_selects == right.named_selects
        ):
            union.set("this", right)
            union.set("expression", left)
            done = True
    return tree if done else None


def _group_by_position(tree: exp.Expression) -> exp.Expression | None:
    """GROUP BY expressions that are in the select list, by their position."""
    done = False
    for select in _selects(tree):
        group = select.args.get("group")
        if group is None:
            continue
        items = [e.unalias() if isinstance(e, exp.Alias) else e for e in select.expressions]
        for g in list(group.expressions):
            for i, item in enumerate(items):
                if item == g:
                    g.replace(exp.Literal.number(i + 1))
                    done = True
                    break
    return tree if done else None


def _named_windows(tree: exp.Expression) -> exp.Expression | None:
    """Each window specification moved into a named WINDOW clause of its select."""
    done = False
    for select in _selects(tree):
        windows = [
            w
            for w in select.find_all(exp.Window)
            if w.find_ancestor(exp.Select) is select and not w.args.get("alias")
        ]
        named = []
        for i, w in enumerate(windows):
            if isinstance(w.this, exp.Window):
                continue
            name = f"mut_w{i}"
            spec = exp.Window(
                this=exp.to_identifier(name),
                partition_by=w.args.get("partition_by"),
                order=w.args.get("order"),
                spec=w.args.get("spec"),
            )
            named.append(spec.copy())
            for arg in ("partition_by", "order", "spec"):
                w.set(arg, None)
            w.set("alias", exp.to_identifier(name))
            done = True
        if named:
            select.set("windows", named)
    return tree if done else None


def _rank_filter_as_qualify(tree: exp.Expression) -> exp.Expression | None:
    """A ranking CTE filtered by its reader (``where rank = 1``) filtered by a QUALIFY of its
    own: the reader's conjuncts on a window column of the CTE (read once, from the reader's
    FROM, no RIGHT / FULL join) move into the CTE."""
    with_ = tree.args.get("with_")
    if with_ is None:
        return None
    done = False
    for cte in with_.expressions:
        body = cte.this
        if not isinstance(body, exp.Select) or body.args.get("qualify") or body.args.get("group"):
            continue
        windowed = {
            e.alias.lower()
            for e in body.expressions
            if isinstance(e, exp.Alias) and e.find(exp.Window)
        }
        outputs = {e.alias_or_name.lower() for e in body.expressions}
        name = cte.alias_or_name.lower()
        refs = [t for t in tree.find_all(exp.Table) if t.name.lower() == name and not t.db]
        if not windowed or len(refs) != 1:
            continue
        select = refs[0].find_ancestor(exp.Select)
        joins = select.args.get("joins") or []
        where = select.args.get("where")
        from_ = select.args.get("from_")
        if (
            where is None
            or from_ is None
            or from_.this is not refs[0]
            or any(j.side.upper() in ("RIGHT", "FULL") for j in joins)
        ):
            continue
        alias = refs[0].alias_or_name.lower()
        moved, kept = [], []
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            cols = list(conjunct.find_all(exp.Column))
            ours = all(
                (c.table.lower() == alias or (not c.table and not joins))
                and c.name.lower() in outputs
                for c in cols
            )
            windowed_here = any(c.name.lower() in windowed for c in cols)
            fits = ours and windowed_here and not conjunct.find(exp.Query)
            (moved if fits else kept).append(conjunct)
        if not moved:
            continue
        cond = exp.and_(*(m.copy() for m in moved))
        for c in cond.find_all(exp.Column):
            c.set("table", None)
        body.set("qualify", exp.Qualify(this=cond))
        select.set("where", exp.Where(this=exp.and_(*(k.copy() for k in kept))) if kept else None)
        done = True
    return tree if done else None


def _star(tree: exp.Expression) -> exp.Expression | None:
    """``select *`` from one table as ``select t.*``."""
    done = False
    for select in _selects(tree):
        if (
            len(select.expressions) == 1
            and isinstance(select.expressions[0], exp.Star)
            and not select.args.get("joins")
            and select.args.get("from_")
        ):
            source = select.args["from_"].this
            select.set(
                "expressions",
                [exp.Column(this=exp.Star(), table=exp.to_identifier(source.alias_or_name))],
            )
            done = True
    return tree if done else None


MUTATIONS: dict[str, Callable[[exp.Expression], exp.Expression | None]] = {
    "rank_filter_as_qualify": _rank_filter_as_qualify,
    "where_into_on": _where_into_on,
    "join_as_in": lambda t: _join_as_semi(t, exists=False),
    "join_as_exists": lambda t: _join_as_semi(t, exists=True),
    "case_as_if": _case_as_if,
    "coalesce_as_case": _coalesce_as_case,
    "union_swapped": _union_swapped,
    "group_by_position": _group_by_position,
    "named_windows": _named_windows,
    "star_qualified": _star,
    "inline_ctes": _inline_ctes,  # last: ``all`` inlines after the other shapes
}


def mutants(sql: str, dialect: str = "duckdb") -> list[tuple[str, str]]:
    """The mutants of ``sql``: (mutation, SQL) for each mutation that applies and changes it,
    and ``all``: every mutation applied in turn, in :data:`MUTATIONS` order."""
    tree = sqlglot.parse_one(sql, read=dialect)
    original = tree.sql(dialect)
    out: dict[str, str] = {}
    combined = tree.copy()
    for name, mutate in MUTATIONS.items():
        mutated = mutate(tree.copy())
        if mutated is not None and mutated.sql(dialect) != original:
            out[name] = mutated.sql(dialect)
            combined = mutate(combined) or combined
    if len(out) > 1:
        out["all"] = combined.sql(dialect)
    return sorted(out.items())


def _retarget(sql: str, tables: Mapping[tuple[str, str], str], dialect: str = "duckdb") -> str:
    """``sql`` with each table ``(schema, identifier)`` in ``tables`` read from the named one."""
    tree = sqlglot.parse_one(sql, read=dialect)
    for table in list(tree.find_all(exp.Table)):
        target = tables.get((table.db.lower(), table.name.lower()))
        if target is not None:
            schema, name = target.split(".")
            new = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier(schema))
            new.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias or table.name)))
            table.replace(new)
    return tree.sql(dialect)


class MutantOracle:
    """The project's intermediate and mart models, each rewritten by :func:`mutants` and run
    in place of the original against its parents' baseline results: the parents are copied
    to tables ``oracle_mut.p<i>`` (the mutant reads them), every column of a parent is
    perturbed as for the project (sampled: ``sample`` value perturbations per column, two row
    removals per parent; each mutant runs every removal and, drawn with the mutant's name as
    seed, a ``share`` of the value perturbations), and the mutant's lineage is the engine's
    for the mutant's SQL against the parents' columns."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        project: ProjectOracle | None = None,
        *,
        sample: int = 1,
        share: float = 0.5,
    ):
        self.project = project
        self.conn = conn
        self.sample = sample
        self.share = share
        self.conn.execute("create schema if not exists oracle_mut")
        self.conn.execute("create schema if not exists oracle_mutp")

    def models(self) -> list[str]:
        return [
            uid
            for uid, n in self.project.models.items()
            if re.search(r"(^|/)(intermediate|marts)/", n.original_file_path or "")
        ]

    def check_model(self, uid: str, stats: Stats) -> list[Finding]:
        """Every mutant of model ``uid`` under the perturbations of its parents."""
        p = self.project
        if p is None:
            raise ValueError("MutantOracle.check_model needs the ProjectOracle of the models")
        node = p.models[uid]
        everything = {x.unique_id: x for x in p.manifest}
        tables: dict[tuple[str, str], str] = {}
        schema: dict[str, dict[str, str]] = {}
        perturbations: list[tuple[Perturbation, str]] = []
        rng = random.Random(node.name)
        for i, dep in enumerate(d for d in node.depends_on if d in everything):
            parent = everything[dep]
            name = f"oracle_mut.p{i}"
            rel = _rel(None, parent.schema, parent.identifier)
            self.conn.execute(f"create or replace table {name} as select * from {rel}")
            self.conn.execute(
                f"create or replace table oracle_mutp.p{i}_reversed as "
                f"select * from {name} order by rowid desc"
            )
            tables[(parent.schema.lower(), parent.identifier.lower())] = name
            types = dict(
                self.conn.execute(
                    f"select column_name, column_type from (describe {name})"
                ).fetchall()
            )
            schema[f"p{i}"] = types
            found: list[Perturbation] = []
            for col, typ in types.items():
                values = value_perturbations(name, name, col, typ, default=True)
                found += rng.sample(values, min(self.sample, len(values)))
            removals = []
            for col in list(types)[:1] + [c for c in types if c in ("national_id", "person_id")]:
                vals = self.conn.execute(
                    f'select "{col}" from {name} where "{col}" is not null order by rowid'
                ).fetchall()
                if vals:
                    removals.append(removal(name, name, col, vals[len(vals) // 2][0]))
            found += rng.sample(removals, min(2, len(removals)))
            for k, pert in enumerate(found):
                copy = f"oracle_mutp.p{i}_{k}"
                self.conn.execute(f"create or replace table {copy} as {pert.sql}")
                perturbations.append((pert, copy))
        original = _retarget(node.compiled_code, tables)
        expected = Result.of(self.conn.execute(original))
        findings: list[Finding] = []
        for mutation, sql in mutants(original):
            stats.mutants += 1
            findings += self.check(
                f"{node.name}~{mutation}",
                sql,
                {"oracle_mut": schema},
                perturbations,
                stats,
                expected=expected,
            )
        return findings

    def check(
        self,
        qid: str,
        sql: str,
        schema: Mapping[str, Any],
        perturbations: Sequence[tuple[Perturbation, str]],
        stats: Stats,
        *,
        expected: Result | None = None,
        lineage: QueryLineage | None = None,
    ) -> list[Finding]:
        """One mutant under ``perturbations`` (each ``oracle_mut.p<i>`` swapped for a copy);
        ``expected``: the original model's rows (a mutant giving them counts as equivalent);
        ``lineage`` defaults to the engine's."""
        try:
            first = Result.of(self.conn.execute(sql))
            second = Result.of(self.conn.execute(sql))
        except duckdb.Error:
            stats.refused_by_duckdb += 1
            return []
        if expected is not None and first.same_rows(expected):
            stats.equivalent += 1
        try:
            lineage = lineage or query_lineage(sql, schema=schema)
        except LineageError as e:
            stats.refused_by_engine += 1
            stats.refusals[f"{qid.partition('~')[2]}: {e.what[:80]}"] += 1
            return []
        stats.subjects += 1
        if len(lineage.columns) != len(first.columns):
            return [
                Finding(
                    qid,
                    first.columns,
                    "none (the engine names "
                    f"{len(lineage.columns)} output columns, DuckDB {len(first.columns)})",
                    sql=sql,
                )
            ]
        names = first.columns
        ignore, pairing_random = nondeterministic(first, second)
        reversed_sql = re.sub(r"\boracle_mut\.(p\d+)\b", r"oracle_mutp.\1_reversed", sql)
        try:
            cols, pairing = nondeterministic(second, Result.of(self.conn.execute(reversed_sql)))
        except duckdb.Error:
            cols, pairing = set(names), True
        ignore |= cols
        pairing_random |= pairing
        stats.nondeterministic += len(ignore)
        dataset = {(d.table, d.column) for d in lineage.dataset}
        reads = [{(d.table, d.column) for d in lineage.fields[c]} | dataset for c in names]
        findings: list[Finding] = []
        rng = random.Random(qid)
        for p, copy in perturbations:
            if not re.search(rf"\b{re.escape(p.table)}\b", sql):
                continue
            if not p.removes_rows and rng.random() >= self.share:
                continue
            try:
                new = Result.of(self.conn.execute(re.sub(rf"\b{re.escape(p.table)}\b", copy, sql)))
            except duckdb.Error:
                stats.perturbed_errors += 1
                continue
            stats.perturbations += 1
            stats.executions += 1
            stats.changes_checked += len(names)
            if p.removes_rows:
                reach = {names[i] for i, r in enumerate(reads) if any(t == p.table for t, _ in r)}
            else:
                reach = {names[i] for i, r in enumerate(reads) if (p.table, p.column) in r}
                for c in changed_columns(second, new) - ignore:
                    stats.changed_reachable_pairs.add((f"{qid}.{p.label}", f"{qid}.{c}"))
                for c in reach:
                    stats.reachable_pairs.add((f"{qid}.{p.label}", f"{qid}.{c}"))
            for group in unexplained(second, new, reach, ignore=ignore, pairing=not pairing_random):
                findings.append(
                    Finding(qid, group, p.label, sql=sql, edges=_query_edges(lineage, group))
                )
        return findings


def _mutant_part(target: str, project_dir: str, landing: str, part: tuple[int, int]) -> Stats:
    """Worker: the mutants of every ``part[1]``-th intermediate or mart model from ``part[0]``."""
    from catalog.manifest import load_manifest

    t0 = time.perf_counter()
    manifest = load_manifest(Path(target) / "manifest.json", project_dir=project_dir)
    project = ProjectOracle(manifest, None)
    project.load(Path(landing))
    project.run(project.order)
    oracle = MutantOracle(project.conn, project)
    stats = Stats()
    for uid in oracle.models()[part[0] :: part[1]]:
        stats.models += 1
        stats.findings += oracle.check_model(uid, stats)
    stats.seconds = time.perf_counter() - t0
    return stats


def merge(parts: Iterable[Stats]) -> Stats:
    """The sum of the statistics of several workers."""
    out = Stats()
    for st in parts:
        for name in ("subjects", "refused_by_engine", "refused_by_duckdb", "perturbations",
                     "executions", "changes_checked", "nondeterministic",
                     "perturbed_errors", "models", "mutants", "equivalent"):  # fmt: skip
            setattr(out, name, getattr(out, name) + getattr(st, name))
        out.reachable_pairs |= st.reachable_pairs
        out.changed_reachable_pairs |= st.changed_reachable_pairs
        out.refusals += st.refusals
        out.findings += st.findings
        out.seconds = max(out.seconds, st.seconds)
    return out


def _project_part(
    target: str, project_dir: str, landing: str, leaves: list[str], first: bool
) -> Stats:
    """Worker: the project oracle over some sources and seeds (the baseline in each)."""
    from catalog.lineage import build_project_graph
    from catalog.manifest import load_manifest

    t0 = time.perf_counter()
    manifest = load_manifest(Path(target) / "manifest.json", project_dir=project_dir)
    graph = build_project_graph(manifest, dialect=manifest.adapter_type or "duckdb")
    oracle = ProjectOracle(manifest, graph)
    oracle.load(Path(landing))
    stats = Stats()
    stats.findings = oracle.build_baseline(stats)
    if not first:  # the baseline is counted once, by the first part
        stats.subjects = stats.nondeterministic = 0
        stats.findings = []
    for node in oracle.leaves():
        if node.unique_id in leaves:
            stats.findings += oracle.check_leaf(node, stats)
    stats.seconds = time.perf_counter() - t0
    return stats


def run_oracle(
    project_dir: Path,
    work: Path,
    *,
    queries: int = 500,
    persons: int = 400,
    workers: int = 2,
) -> tuple[Stats, Stats, Stats]:
    """The project oracle (every source and seed column), the generated corpus and the
    mutated models (:class:`MutantOracle`), spread over ``workers`` processes. Returns
    (project stats, generated stats, mutant stats)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from catalog.manifest import compile_project
    from dagster_project.landing.generate import generate

    target = work / "target"
    manifest = compile_from_scratch(compile_project, project_dir, target)
    landing = work / "landing"
    if not landing.exists():
        generate(landing, persons=persons, seed=7, as_of=dt.date(2026, 11, 2), progress=False)
    read = {d for n in manifest.models for d in n.depends_on}
    leaves = sorted(
        n.unique_id
        for n in manifest
        if n.resource_type in ("source", "seed") and n.unique_id in read
    )
    # the sources with many columns and descendants first, dealt out in turn
    weight = {u: len(manifest.nodes[u].columns) for u in leaves}
    ordered = sorted(leaves, key=lambda u: -weight[u])
    shares: list[list[str]] = [[] for _ in range(workers)]
    for uid in ordered:
        shares[min(range(workers), key=lambda k: sum(weight[u] for u in shares[k]))].append(uid)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        project_jobs = [
            pool.submit(_project_part, str(target), str(project_dir), str(landing), share, k == 0)
            for k, share in enumerate(shares)
        ]
        query_jobs = [
            pool.submit(generated_oracle, queries, part=(k, workers)) for k in range(workers)
        ]
        mutant_jobs = [
            pool.submit(_mutant_part, str(target), str(project_dir), str(landing), (k, workers))
            for k in range(workers)
        ]
        project = merge(j.result() for j in project_jobs)
        generated = merge(j.result()[0] for j in query_jobs)
        mutated = merge(j.result() for j in mutant_jobs)
    return project, generated, mutated


def main(argv: Sequence[str] | None = None) -> int:
    """``python tests/lineage/soundness.py [--queries N] [--work DIR] [--findings FILE.md]``:
    run the oracle, print every unexplained change and the summary, append them to FILE.md."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--findings", type=Path)
    args = parser.parse_args(argv)
    from dagster_project.project import DBT_PROJECT_DIR

    with tempfile.TemporaryDirectory(prefix="soundness-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("FJORDBANK_DATA_DIR", str(work / "data"))
        project, generated, mutated = run_oracle(DBT_PROJECT_DIR, work, queries=args.queries)
    for f in project.findings + generated.findings + mutated.findings:
        print(f.line())
        print(f"    edges: {f.edges}")
    print(project.summary("project models"))
    print(generated.summary("generated queries"))
    print(mutated.summary(f"mutated models ({mutated.models} models, {mutated.mutants} mutants, "
                          f"{mutated.equivalent} with the original's rows)"))  # fmt: skip
    if args.findings:
        append_findings(args.findings, "project models", project.findings)
        append_findings(args.findings, "generated queries", generated.findings)
        append_findings(args.findings, "mutated models", mutated.findings)
    return 1 if project.findings or generated.findings or mutated.findings else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
