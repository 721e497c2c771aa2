"""The engine on one query: every construct of the issue as a SQL fixture with its edges.

Each ``sql/*.sql`` file holds a query and, in its leading comments, the exact edge set it must
produce (``-- expect: <output column or *> <- <table>.<column> <TYPE>/<SUBTYPE> [masking]
[keyed] [restricts]``; ``*`` is dataset-level; ``keyed``: the masking is a keyed hash),
optionally the output columns in order (``-- columns: a, b``), or the error it must fail closed
with (``-- error: <text>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.lineage import (
    Dependency,
    EdgeType,
    LineageError,
    QueryLineage,
    Subtype,
    Tables,
    query_lineage,
)

SQL_DIR = Path(__file__).parent / "sql"
SCHEMA = json.loads((SQL_DIR / "_schema.json").read_text())
EXPECT = re.compile(
    r"^--\s*expect:\s*(?P<target>\S+)\s*<-\s*(?P<source>\S+)\s+"
    r"(?P<type>DIRECT|INDIRECT)/(?P<subtype>[A-Z_]+)(?P<flags>(?:\s+(?:masking|keyed|restricts))*)\s*$"
)

Edge = tuple[str, str, str, str, str, bool, bool, bool]


@dataclass(frozen=True)
class Fixture:
    name: str
    sql: str
    expected: frozenset[Edge]
    columns: tuple[str, ...] | None
    error: str | None


def load(path: Path) -> Fixture:
    expected: set[Edge] = set()
    columns = error = None
    for line in path.read_text().splitlines():
        if m := EXPECT.match(line):
            table, _, column = m["source"].rpartition(".")
            flags = m["flags"].split()
            expected.add(
                (
                    m["target"],
                    table,
                    column,
                    m["type"],
                    m["subtype"],
                    "masking" in flags,
                    "restricts" in flags,
                    "keyed" in flags,
                )
            )
        elif line.startswith("-- columns:"):
            columns = tuple(c.strip() for c in line.split(":", 1)[1].split(","))
        elif line.startswith("-- error:"):
            error = line.split(":", 1)[1].strip()
        elif line.startswith("-- expect"):
            raise ValueError(f"{path.name}: malformed expectation {line!r}")
    return Fixture(path.stem, path.read_text(), frozenset(expected), columns, error)


FIXTURES = [load(p) for p in sorted(SQL_DIR.glob("*.sql"))]


def edges(q: QueryLineage) -> set[Edge]:
    return {
        (
            target or "*",
            d.table,
            d.column,
            str(d.type),
            str(d.subtype),
            d.masking,
            d.restricts_rows,
            d.keyed,
        )
        for target, d in q.dependencies()
    }


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if not f.error], ids=lambda f: f.name)
def test_fixture_edges(fixture: Fixture) -> None:
    q = query_lineage(fixture.sql, schema=SCHEMA)
    got = edges(q)
    assert got == fixture.expected, (
        f"missing: {sorted(fixture.expected - got)}\nunexpected: {sorted(got - fixture.expected)}"
    )
    if fixture.columns is not None:
        assert q.columns == fixture.columns


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if f.error], ids=lambda f: f.name)
def test_fixture_fails_closed(fixture: Fixture) -> None:
    with pytest.raises(LineageError) as info:
        query_lineage(fixture.sql, schema=SCHEMA)
    message = str(info.value)
    assert fixture.error in message
    assert "\n" not in message
    assert ";" in message, "the message says what to do after a ';'"


def test_every_subtype_is_covered_by_a_fixture() -> None:
    seen = {e[4] for f in FIXTURES for e in f.expected}
    assert seen == {s.value for s in Subtype}


def test_dependency_fields_are_typed() -> None:
    q = query_lineage("select md5(email) as h from bank.customers", schema=SCHEMA)
    (dep,) = q.fields["h"]
    assert dep == Dependency(
        "bank.customers", "email", EdgeType.DIRECT, Subtype.TRANSFORMATION, masking=True
    )
    assert q.tables == ("bank.customers",)


def test_catalog_level_schema_and_dbt_duckdb_quoting() -> None:
    schema = {
        "warehouse": {
            "raw_markets": {"securities_holdings": {"national_id": "varchar", "value": "double"}},
            "main": {"stg_markets__holdings": {"national_id": "varchar", "value": "double"}},
        }
    }
    sql = (
        "select h.national_id, sum(s.value) as total "
        'from "warehouse"."raw_markets"."securities_holdings" as h '
        "join main.stg_markets__holdings as s on s.national_id = h.national_id "
        "group by 1"
    )
    q = query_lineage(sql, schema=schema)
    assert {e[:7] for e in edges(q)} == {  # no hashes here: the keyed flag left out
        (
            "national_id",
            "warehouse.raw_markets.securities_holdings",
            "national_id",
            "DIRECT",
            "IDENTITY",
            False,
            False,
        ),
        (
            "total",
            "warehouse.main.stg_markets__holdings",
            "value",
            "DIRECT",
            "AGGREGATION",
            False,
            False,
        ),
        (
            "*",
            "warehouse.raw_markets.securities_holdings",
            "national_id",
            "INDIRECT",
            "JOIN",
            False,
            True,
        ),
        (
            "*",
            "warehouse.main.stg_markets__holdings",
            "national_id",
            "INDIRECT",
            "JOIN",
            False,
            True,
        ),
        (
            "*",
            "warehouse.raw_markets.securities_holdings",
            "national_id",
            "INDIRECT",
            "GROUP_BY",
            False,
            False,
        ),
    }
    assert set(q.tables) == {
        "warehouse.raw_markets.securities_holdings",
        "warehouse.main.stg_markets__holdings",
    }


def test_a_name_in_two_schemas_is_ambiguous_without_its_schema() -> None:
    schema = {"a": {"t": {"x": "int"}}, "b": {"t": {"x": "int"}}}
    assert query_lineage("select x from a.t", schema=schema).fields["x"][0].table == "a.t"
    with pytest.raises(LineageError, match="ambiguous"):
        query_lineage("select x from t", schema=schema)


def test_strict_false_accepts_tables_without_metadata() -> None:
    q = query_lineage("select upper(col1) as c from tab2", schema={}, strict=False)
    assert edges(q) == {("c", "tab2", "col1", "DIRECT", "TRANSFORMATION", False, False, False)}
    with pytest.raises(LineageError, match="not in the schema"):
        query_lineage("select upper(col1) as c from tab2", schema={"s": {"t": {"a": "int"}}})


def test_tables_can_be_prepared_once_and_reused() -> None:
    tables = Tables(SCHEMA)
    first = query_lineage("select email from bank.customers", schema=tables)
    second = query_lineage("select postcode from bank.customers", schema=tables)
    assert first.fields["email"][0].column == "email"
    assert second.fields["postcode"][0].column == "postcode"


def test_invalid_schema_mapping_fails_closed() -> None:
    with pytest.raises(LineageError, match="schema mapping is not valid"):
        query_lineage("select 1 as x", schema={"s": {"t": "not a mapping"}, "u": {"v": {}}})


def test_wide_query_stays_exact() -> None:
    """A generated 100-column query over 4 CTE levels keeps every edge it should."""
    n = 100
    a = {"id": "int", **{f"a{i}": "int" for i in range(n)}}
    cols = ", ".join(f"a{i} * 2 as c{i}" for i in range(n))
    cases = ", ".join(f"case when c{i} > 0 then c{i} end as d{i}" for i in range(n))
    sql = (
        f"with l1 as (select id, {cols} from s.a), "
        f"l2 as (select id, {cases} from l1), "
        f"l3 as (select * from l2 where id > 0), "
        f"l4 as (select id, {', '.join(f'sum(d{i}) as e{i}' for i in range(n))} "
        f"from l3 group by id) select * from l4"
    )
    q = query_lineage(sql, schema={"s": {"a": a}})
    assert len(q.columns) == n + 1
    for i in range(n):
        assert {(d.column, str(d.subtype)) for d in q.fields[f"e{i}"]} == {
            (f"a{i}", "AGGREGATION"),
            (f"a{i}", "CONDITIONAL"),
        }
    assert {(d.column, str(d.subtype)) for d in q.dataset} == {
        ("id", "FILTER"),
        ("id", "GROUP_BY"),
    }


# Tables a select-list subquery reads for one column only: the other columns do not change
# when their rows do.
ONE_COLUMN_SUBQUERY_TABLES = {
    "18_scalar_subquery": {"markets.holdings"},
    "45_cte_alias_as_column": {"asset_management.fund_holdings"},
    "56_scalar_expressions": {"markets.holdings"},
}


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if not f.error], ids=lambda f: f.name)
def test_no_output_column_is_silent_about_a_table_it_reads(fixture: Fixture) -> None:
    """Removing rows of any table the query reads changes every output column (how many rows
    there are, if nothing else): each column has an input from every such table."""
    q = query_lineage(fixture.sql, schema=SCHEMA)
    every_row = {d.table for d in q.dataset}
    exempt = ONE_COLUMN_SUBQUERY_TABLES.get(fixture.name, set())
    for column in q.columns:
        reached = every_row | {d.table for d in q.fields[column]}
        assert set(q.tables) - exempt <= reached, (column, set(q.tables) - reached)


HOLDINGS = "markets.holdings"
ROW = {"custody_account_no", "isin", "market_value", "national_id"}


@pytest.mark.parametrize(
    ("sql", "subtype"),
    [
        ("select to_json(struct(h.*)) as j from markets.holdings as h", "TRANSFORMATION"),
        ("select to_json(struct(*)) as j from markets.holdings as h", "TRANSFORMATION"),
        ("select hash(*) as j from markets.holdings as h", "TRANSFORMATION"),
        ("select array(h.*) as j from markets.holdings as h", "TRANSFORMATION"),
        ("select count(*) as j from markets.holdings", "AGGREGATION"),
        ("select count(1) as j from markets.holdings", "AGGREGATION"),
        ("select collect_list(struct(h.*)) as j from markets.holdings as h", "AGGREGATION"),
    ],
)
def test_spark_whole_rows(sql: str, subtype: str) -> None:
    q = query_lineage(sql, schema=SCHEMA, dialect="spark")
    assert {(d.table, d.column, str(d.subtype)) for d in q.fields["j"]} == {
        (HOLDINGS, c, subtype) for c in ROW
    }


def test_spark_generators_and_sort_by() -> None:
    q = query_lineage(
        "select posexplode(a.tags) as (pos, tag) from bank.accounts as a sort by a.balance",
        schema=SCHEMA,
        dialect="spark",
    )
    assert q.columns == ("pos", "tag")
    assert {(c, d.column, str(d.subtype)) for c, d in q.dependencies()} == {
        ("pos", "tags", "TRANSFORMATION"),
        ("tag", "tags", "TRANSFORMATION"),
        (None, "tags", "FILTER"),  # the list decides how many rows each account becomes
        (None, "balance", "SORT"),
    }
    q = query_lineage(
        "select account_no from bank.accounts cluster by customer_no",
        schema=SCHEMA,
        dialect="spark",
    )
    assert {(d.column, str(d.subtype)) for d in q.dataset} == {("customer_no", "SORT")}


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (
            "select a.account_no, t.tag from bank.accounts as a "
            "lateral view explode(a.tags) t as tag",
            "LATERAL VIEW",
        ),
        ("select posexplode(a.tags) from bank.accounts as a", "has no name"),
        ("select inline(p.lots) from markets.positions as p", "has no name"),
    ],
)
def test_spark_constructs_that_fail_closed(sql: str, error: str) -> None:
    with pytest.raises(LineageError, match=error):
        query_lineage(sql, schema=SCHEMA, dialect="spark")


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("select to_json(o.*) as j from undeclared.objections as o", "the whole row of o"),
        (
            "select * from bank.customers match_recognize (partition by postcode order by "
            "birth_date measures first(email) as e pattern (a) define a as true)",
            "does not parse",
        ),
    ],
)
def test_duckdb_constructs_that_fail_closed(sql: str, error: str) -> None:
    with pytest.raises(LineageError, match=error):
        query_lineage(sql, schema=SCHEMA)


def test_match_recognize_fails_closed_where_it_parses() -> None:
    with pytest.raises(LineageError, match="MATCH_RECOGNIZE is not supported"):
        query_lineage(
            "select * from bank.customers match_recognize (partition by postcode order by "
            "birth_date measures first(email) as e pattern (a) define a as true)",
            schema=SCHEMA,
            dialect="snowflake",
        )
