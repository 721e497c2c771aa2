"""Accuracy on the public column-lineage corpus (sqllineage's tests): this engine vs. sqlglot.

Scores ``<shared>/benchmarks/sqllineage-column/cases.json`` (``<shared>`` is
``$FJORDBANK_SHARED_DIR``, default: the repository's sibling ``shared/``) in one run, with the
same harness for both engines; only the per-query lineage function differs:

- **engine**: ``catalog.lineage`` (``strict=False``: most cases come without table metadata);
  a column's sources are its DIRECT inputs plus its column-level CONDITIONAL and WINDOW inputs,
  because the corpus follows sqllineage, where columns in a CASE condition or a window's
  PARTITION / ORDER BY are sources of the column (WHERE and JOIN columns are not).
  The strict reading (DIRECT inputs only) is reported too.
- **baseline**: ``sqlglot.lineage.lineage()`` per output column, leaves of its lineage tree.

The harness (shared): statements are parsed with sqlglot in the case's dialect; ``INSERT``
targets map to the select list by name, or by position when the INSERT lists its columns or
the target's columns are in the case's schema (static partition columns excluded); ``CREATE
TABLE / VIEW ... AS`` and ``UPDATE ... SET`` (as the equivalent SELECT) likewise. Unaliased
expressions are named after their SQL text, as sqllineage does. As in sqllineage's tests, a
case's edges are the (source, target) pairs of the paths through all of its statements.
A case matches when its edge set equals the expected one (names compared case-insensitively).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage as sqlglot_lineage

from catalog.lineage import EdgeType, LineageError, Subtype
from catalog.lineage.query import Tables, lineage_of_query

CORPUS = Path("benchmarks") / "sqllineage-column" / "cases.json"
DIALECTS = {
    "ansi": "",
    "sparksql": "spark",
    "databricks": "databricks",
    "hive": "hive",
    "tsql": "tsql",
    "bigquery": "bigquery",
    "oracle": "oracle",
    "teradata": "teradata",
}
_NO_DB = "default"  # the schema level for tables named without one
_SOURCE_SUBTYPES = {Subtype.CONDITIONAL, Subtype.WINDOW}
_PLAIN_NAME = re.compile(r"^[\w$#@\"`\[\]]+$")

# (query, dialect, schema) -> {output column: {(table, column)}}
Lineage = Callable[[exp.Query, str, dict], dict[str, set[tuple[str, str]]]]


def shared_dir() -> Path:
    """``$FJORDBANK_SHARED_DIR``, else the repository's sibling ``shared/``."""
    from catalog.settings import REPO_ROOT

    return Path(os.environ.get("FJORDBANK_SHARED_DIR") or REPO_ROOT.parent / "shared")


def corpus_path() -> Path | None:
    path = shared_dir() / CORPUS
    return path if path.is_file() else None


def load_cases(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or corpus_path()
    if path is None:
        raise FileNotFoundError(f"the corpus is not at {shared_dir() / CORPUS}")
    return json.loads(path.read_text(encoding="utf-8"))


# -- the two engines -------------------------------------------------------------------------


def _table_name(table: exp.Table) -> str:
    return ".".join(p for p in (table.catalog, table.db, table.name) if p)


def engine_lineage(direct_only: bool = False) -> Lineage:
    def run(query: exp.Query, dialect: str, schema: dict) -> dict[str, set[tuple[str, str]]]:
        result = lineage_of_query(
            query.copy(), Tables(schema, dialect=dialect), dialect=dialect, strict=False
        )
        out: dict[str, set[tuple[str, str]]] = {}
        for name in result.columns:
            out[name] = {
                (d.table, d.column)
                for d in result.fields[name]
                if d.type is EdgeType.DIRECT or (not direct_only and d.subtype in _SOURCE_SUBTYPES)
            }
        return out

    return run


def sqlglot_baseline(
    query: exp.Query, dialect: str, schema: dict
) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for name in query.named_selects:
        node = sqlglot_lineage(name, query, schema=schema, dialect=dialect or None)
        sources = set()
        for leaf in node.walk():
            if leaf.downstream:
                continue
            table = leaf.expression.find(exp.Table) if leaf.expression else None
            if isinstance(table, exp.Table) and not isinstance(table.this, exp.Func):
                sources.add((_table_name(table), exp.to_column(leaf.name).name))
        out[name] = sources
    return out


ENGINES: dict[str, Lineage] = {
    "engine": engine_lineage(),
    "engine_direct_only": engine_lineage(direct_only=True),
    "sqlglot.lineage": sqlglot_baseline,
}


# -- the harness -------------------------------------------------------------------------------


@dataclass
class Statement:
    target: str
    query: exp.Query
    columns: list[str] | None = None  # target columns by position, when known
    writes_rows: bool = True  # False for UPDATE: other columns keep their values


@dataclass
class CaseResult:
    case_id: str
    expected: set[tuple[str, str]]
    got: set[tuple[str, str]] = field(default_factory=set)
    error: str | None = None

    @property
    def match(self) -> bool:
        return self.error is None and self.got == self.expected


def _schema(case: dict[str, Any], dialect: str) -> dict[str, dict[str, dict[str, str]]]:
    """The case's ``{"db.table": [columns]}`` as a sqlglot-style mapping."""
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for qualified, columns in (case.get("schema") or {}).items():
        db, _, table = qualified.rpartition(".")
        nested.setdefault(db or _NO_DB, {})[table] = {c: "unknown" for c in columns}
    return nested


def _name_unaliased(query: exp.Query, dialect: str) -> None:
    """Unaliased expressions get their SQL text as name (sqllineage's convention)."""
    select = query
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            continue
        if (
            isinstance(projection, exp.Cast)
            and isinstance(projection.this, exp.Column)
            and (projection.args.get("_type_name") or "::" in projection.sql(dialect=dialect))
        ):
            name = projection.this.name  # col::type keeps the column's name
        else:
            name = " ".join(projection.sql(dialect=dialect).split()).lower()
        projection.replace(exp.alias_(projection.copy(), name, quoted=True))


def _columns_of(schema_node: exp.Expr) -> list[str] | None:
    if isinstance(schema_node, exp.Schema):
        return [e.name for e in schema_node.expressions]
    return None


def _target_table(node: exp.Expr) -> exp.Table:
    while isinstance(node, exp.Schema):
        node = node.this
    return node  # type: ignore[return-value]


def _with(query: exp.Query, with_: exp.With | None) -> exp.Query:
    if with_ is not None and not query.args.get("with_"):
        query.set("with_", with_)
    return query


def _unwrap(node: exp.Expr | None) -> exp.Query | None:
    while isinstance(node, exp.Subquery) and not node.alias:
        node = node.this
    return node if isinstance(node, exp.Query) else None


def _update_as_select(update: exp.Update) -> Statement | None:
    target = update.this
    from_ = update.args.get("from_")
    select = exp.select(
        *(
            exp.alias_(e.expression.copy(), e.this.name, quoted=True)
            for e in update.expressions
            if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)
        )
    )
    real_target = target
    relations: list[exp.Expr] = []
    if from_ is not None:
        relations.append(from_.this.copy())
        for join in update.args.get("joins") or []:
            relations.append(join.copy())
    aliases = {r.alias_or_name for r in relations if isinstance(r, exp.Table)}
    if isinstance(target, exp.Table) and not target.db and target.name in aliases:
        # T-SQL: UPDATE t ... FROM tab1 t: the target is the aliased table of FROM
        real_target = next(
            r for r in relations if isinstance(r, exp.Table) and r.alias_or_name == target.name
        )
        real_target = exp.table_(real_target.name, db=real_target.db or None)
    else:
        relations.insert(0, target.copy())
    if not relations:
        return None
    select = select.from_(relations[0])
    for relation in relations[1:]:
        select = (
            select.join(relation)
            if isinstance(relation, exp.Join)
            else select.join(relation, join_type="cross")
        )
    where = update.args.get("where")
    if where is not None:
        select = select.where(where.this.copy())
    select = _with(select, update.args.get("with_"))
    return Statement(_table_name(real_target), select, writes_rows=False)


def _merge_as_selects(merge: exp.Merge) -> list[Statement]:
    """Each WHEN ... UPDATE / INSERT of a MERGE as the equivalent SELECT."""
    target = merge.this
    using = merge.args.get("using")
    if not isinstance(target, exp.Table) or using is None:
        return []
    out = []
    for when in (merge.args.get("whens") or exp.Whens()).expressions:
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            projections = [
                exp.alias_(e.expression.copy(), e.this.name, quoted=True)
                for e in then.expressions
                if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)
            ]
            select = (
                exp.select(*projections)
                .from_(target.copy())
                .join(using.copy(), on=merge.args["on"].copy())
            )
        elif isinstance(then, exp.Insert) and isinstance(then.expression, exp.Tuple):
            names = [c.name for c in then.this.expressions] if then.this else []
            values = then.expression.expressions
            if len(names) != len(values):
                continue
            select = exp.select(
                *(exp.alias_(v.copy(), n, quoted=True) for n, v in zip(names, values, strict=True))
            ).from_(using.copy())
        else:
            continue
        out.append(Statement(_table_name(target), select, writes_rows=False))
    return out


def statements(case: dict[str, Any], dialect: str) -> list[Statement]:
    """The statements of a case that write columns, as (target, query)."""
    out: list[Statement] = []
    for statement in sqlglot.parse(case["sql"], dialect=dialect or None):
        if isinstance(statement, exp.Insert):
            query = _unwrap(statement.expression)
            if query is None:
                continue
            target = _target_table(statement.this)
            columns = _columns_of(statement.this)
            out.append(
                Statement(_table_name(target), _with(query, statement.args.get("with_")), columns)
            )
        elif isinstance(statement, exp.Create) and _unwrap(statement.expression) is not None:
            query = _unwrap(statement.expression)
            target = _target_table(statement.this)
            columns = _columns_of(statement.this)
            out.append(
                Statement(_table_name(target), _with(query, statement.args.get("with_")), columns)
            )
        elif isinstance(statement, exp.Update):
            converted = _update_as_select(statement)
            if converted is not None:
                out.append(converted)
        elif isinstance(statement, exp.Merge):
            out.extend(_merge_as_selects(statement))
    return out


def _static_partitions(case: dict[str, Any]) -> set[str]:
    return {m.lower() for m in re.findall(r"PARTITION\s*\(\s*(\w+)\s*=", case["sql"], re.I)}


def _target_columns(case: dict[str, Any], st: Statement, produced: list[str]) -> list[str]:
    if st.columns:
        return st.columns
    known = {k.lower(): v for k, v in (case.get("schema") or {}).items()}.get(st.target.lower())
    if known:
        partitions = _static_partitions(case)
        known = [c for c in known if c.lower() not in partitions]
        if len(known) == len(produced):
            return known
    return produced


def case_edges(case: dict[str, Any], engine: Lineage) -> set[tuple[str, str]]:
    """(source, target) pairs of the paths through the case's statements."""
    dialect = DIALECTS.get(case["dialect"], case["dialect"])
    schema = _schema(case, dialect)
    edges: set[tuple[str, str]] = set()
    for st in statements(case, dialect):
        _name_unaliased(st.query, dialect)
        per_column = engine(st.query, dialect, schema)
        produced = list(per_column)
        targets = _target_columns(case, st, produced)
        for name, target_column in zip(produced, targets, strict=False):
            for table, column in per_column[name]:
                table = table.removeprefix(f"{_NO_DB}.")
                edges.add((f"{table}.{column}".lower(), f"{st.target}.{target_column}".lower()))
        if st.writes_rows:  # later statements see the new table's columns
            db, _, table = st.target.rpartition(".")
            columns = {c: "unknown" for c in targets if c != "*"}
            if columns:
                schema.setdefault(db or _NO_DB, {})[table] = columns
    return _end_to_end(edges)


def _end_to_end(edges: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Pairs (root, leaf) of the column graph; a self-loop makes a column its own source."""
    forward: dict[str, set[str]] = defaultdict(set)
    has_input: set[str] = set()
    has_output: set[str] = set()
    looped: set[str] = set()
    for source, target in edges:
        forward[source].add(target)
        if source == target:
            looped.add(source)
        else:
            has_input.add(target)
            has_output.add(source)
    nodes = {n for e in edges for n in e}
    roots = {n for n in nodes if n not in has_input or n in looped}
    pairs: set[tuple[str, str]] = set()
    for root in roots:
        seen: set[str] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            for nxt in forward.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        pairs.update((root, leaf) for leaf in seen if leaf not in has_output)
    return pairs


def expected_edges(case: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s.lower(), t.lower()) for s, t in case["expected"]}


def is_unaliased(case: dict[str, Any]) -> bool:
    """Whether the case names a target column after an unaliased expression."""
    return any(not _PLAIN_NAME.match(t.rpartition(".")[2]) for _, t in case["expected"])


def score(engine: Lineage, cases: list[dict[str, Any]]) -> list[CaseResult]:
    results = []
    for case in cases:
        result = CaseResult(case["id"], expected_edges(case))
        try:
            result.got = case_edges(case, engine)
        except (SqlglotError, LineageError, KeyError, ValueError, TypeError) as e:
            result.error = f"{type(e).__name__}: {e}"[:200]
        results.append(result)
    return results


def _rate(results: list[CaseResult]) -> float:
    return sum(r.match for r in results) / len(results) if results else float("nan")


def run(cases: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per subset (all, aliased, unaliased): exact-match rate of each engine."""
    if cases is None:
        if corpus_path() is None:
            print(
                f"[lineage_corpus] skipped: no corpus at {shared_dir() / CORPUS} "
                "(set FJORDBANK_SHARED_DIR)",
                file=sys.stderr,
            )
            return []
        cases = load_cases()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # unsupported-syntax chatter
    scored = {name: score(engine, cases) for name, engine in ENGINES.items()}
    unaliased = [is_unaliased(c) for c in cases]
    rows = []
    for subset, keep in (
        ("all", [True] * len(cases)),
        ("aliased", [not u for u in unaliased]),
        ("unaliased_expression", unaliased),
    ):
        pick = {
            name: [r for r, k in zip(res, keep, strict=True) if k] for name, res in scored.items()
        }
        engine, base = _rate(pick["engine"]), _rate(pick["sqlglot.lineage"])
        rows.append(
            {
                "benchmark": "lineage_corpus",
                "case": f"{subset} ({sum(keep)} cases)",
                "exact_match": round(engine, 3),
                "exact_match_direct_only": round(_rate(pick["engine_direct_only"]), 3),
                "baseline": "sqlglot.lineage",
                "baseline_exact_match": round(base, 3),
                "ratio": round(engine / base, 2) if base else float("inf"),
            }
        )
    return rows


def _misses(results: list[CaseResult], cases: list[dict[str, Any]]) -> None:
    for result, case in zip(results, cases, strict=True):
        if result.match:
            continue
        print(f"- {result.case_id} [{case['dialect']}]")
        if result.error:
            print(f"    error: {result.error}")
        else:
            print(f"    missing: {sorted(result.expected - result.got)}")
            print(f"    extra:   {sorted(result.got - result.expected)}")


if __name__ == "__main__":
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    rows = run()
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    if "--misses" in sys.argv and rows:
        all_cases = load_cases()
        _misses(score(ENGINES["engine"], all_cases), all_cases)
