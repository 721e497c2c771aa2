"""Output column names on Spark: each (select list, names) case is run on a local Spark session
and the engine's names (dialect spark) are compared with Spark's own ``.columns``; the
unaliased constructs the engine does not name fail closed, one line asking for an alias."""

from __future__ import annotations

import pytest

from catalog.lineage import LineageError, query_lineage

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SCHEMA = {
    "raw": {
        "t": {
            "k": "string",
            "x": "int",
            "a": "int",
            "b": "int",
            "name": "string",
            "MixedCol": "int",
        }
    }
}

# (select list, the names Spark gives the columns); ``from raw.t as t`` (and ``group by k``
# when the list starts with k and aggregates) follows.
CASES: list[tuple[str, list[str]]] = [
    ("k, T.X", ["k", "X"]),
    ("K, t.x", ["K", "x"]),
    ("mixedcol", ["mixedcol"]),
    ("`MixedCol`", ["MixedCol"]),
    ("k, sum(x), count(*), count(x)", ["k", "sum(x)", "count(1)", "count(x)"]),
    ("k, Sum(X), count(1)", ["k", "sum(X)", "count(1)"]),
    ("k, sum(distinct x), count(distinct a)", ["k", "sum(DISTINCT x)", "count(DISTINCT a)"]),
    ("k, sum(t.b)", ["k", "sum(b)"]),
    ("x + 1, 1 + x * 2, (x + 1) * 2", ["(x + 1)", "(1 + (x * 2))", "((x + 1) * 2)"]),
    ("x - 1, x / 2, -x", ["(x - 1)", "(x / 2)", "(- x)"]),
    ("x = 1, x <> 1", ["(x = 1)", "(NOT (x = 1))"]),
    ("x is null, x is not null", ["(x IS NULL)", "(x IS NOT NULL)"]),
    ("cast(x as int), cast(k as string)", ["x", "k"]),
    ("coalesce(a, b), upper(name), lower(k)", ["coalesce(a, b)", "upper(name)", "lower(k)"]),
    ("abs(x), concat(k, 'a')", ["abs(x)", "concat(k, a)"]),
    ("1, 'a', null, true, 1.5", ["1", "a", "NULL", "true", "1.5"]),
    ("case when x > 1 then 'a' else 'b' end", ["CASE WHEN (x > 1) THEN a ELSE b END"]),
    (
        "case when x > 1 then a when x < 0 then b end",
        ["CASE WHEN (x > 1) THEN a WHEN (x < 0) THEN b END"],
    ),
    ("a as MixedCase, b as `OtherCase`", ["MixedCase", "OtherCase"]),
]


def _query(select_list: str) -> str:
    aggregates = any(f in select_list.lower() for f in ("sum(", "count("))
    group = " group by k" if aggregates and select_list.startswith("k,") else ""
    return f"select {select_list} from raw.t as t{group}"


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("catalog-spark-names")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sql("create database if not exists raw")
    session.sql(
        "create or replace temporary view t as select 'a' as k, 1 as x, 2 as a, 3 as b, "
        "'n' as name, 4 as MixedCol"
    )
    yield session
    session.stop()


@pytest.mark.parametrize(("select_list", "names"), CASES, ids=[c[0] for c in CASES])
def test_names_are_sparks(spark, select_list: str, names: list[str]) -> None:
    sql = _query(select_list)
    assert spark.sql(sql.replace("raw.t", "t")).columns == names  # the table against Spark
    assert list(query_lineage(sql, schema=SCHEMA, dialect="spark").columns) == _deduplicated(names)


def _deduplicated(names: list[str]) -> list[str]:
    """The engine merges a repeated name on Spark (one column of that name); keep the first."""
    return list(dict.fromkeys(n for n in names))


@pytest.mark.parametrize("expression", ["x % 2", "try_cast(x as int)", "upper(k) || k", "x >= 1"])
def test_unverified_constructs_fail_closed(spark, expression: str) -> None:
    sql = _query(expression)
    assert spark.sql(sql.replace("raw.t", "t")).columns  # Spark names it; the engine asks
    with pytest.raises(LineageError) as info:
        query_lineage(sql, schema=SCHEMA, dialect="spark")
    message = str(info.value)
    assert "give it an alias with AS" in message and "\n" not in message
