"""Output column names as the database gives them (DuckDB here; Spark in
tests/spark/test_spark_names.py): every case is run in DuckDB and the engine's names are
compared with DuckDB's own ``.columns``, so a name the engine gets wrong fails."""

from __future__ import annotations

import duckdb
import pytest

from catalog.lineage import LineageError, query_lineage

# The table the cases read, in DuckDB and in the engine's schema.
COLUMNS = {
    "k": "varchar",
    "x": "integer",
    "a": "integer",
    "b": "integer",
    "name": "varchar",
    "ts": "timestamp",
    "MixedCol": "integer",
}
SCHEMA = {"raw": {"t": COLUMNS}}

# (SQL of the select list, the column names DuckDB gives them), each verified below against
# DuckDB itself, as the columns of a table created from the query (what a model is).
# ``from raw.t as t`` (and ``group by k`` when the list aggregates) follows.
CASES: list[tuple[str, list[str]]] = [
    ("k, sum(x)", ["k", "sum(x)"]),
    ("K, Sum(X)", ["k", "sum(X)"]),
    ("t.k, count(*)", ["k", "count_star()"]),
    (
        "k, count(1), count(x), count(distinct x)",
        ["k", "count(1)", "count(x)", "count(DISTINCT x)"],
    ),
    ("distinct(k)", ["k"]),
    ("x + 1", ["(x + 1)"]),
    ("1 + x * 2", ["(1 + (x * 2))"]),
    ("x <> 1, x is null, not x = 1", ["(x != 1)", "(x IS NULL)", "(NOT (x = 1))"]),
    (
        "cast(x as int), x::bigint, cast(x as int4)",
        ["CAST(x AS INTEGER)", "CAST(x AS BIGINT)", "CAST(x AS int4)"],
    ),
    ("coalesce(a, b), ifnull(a, b)", ["COALESCE(a, b)", "COALESCE(a, b)_1"]),
    ("t.x + 1, T.X + 1", ["(t.x + 1)", "(T.X + 1)_1"]),  # repeats compare case-insensitively
    ("x, x, x as x_1, X", ["x", "x_1", "x_1_1", "x_2"]),
    ("upper(name), upper(k)", ['upper("name")', "upper(k)"]),
    ("1, 'a', null, true, 1.5", ["1", "'a'", "NULL", "true", "1.5"]),
    (
        "case when x > 1 then a else b end",
        ["CASE  WHEN ((x > 1)) THEN (a) ELSE b END"],
    ),
    ("k, sum(x) filter (where a > 1)", ["k", "sum(x) FILTER (WHERE (a > 1))"]),
    ("row_number() over (order by x)", ["row_number() OVER (ORDER BY x)"]),
    ("nullif(a, b), trim(name)", ['"nullif"(a, b)', '"trim"("name")']),
    ("mixedcol, MIXEDCOL + 1", ["MixedCol", "(MIXEDCOL + 1)"]),
    ('a as "MixedCase", b as OtherCase, "X"', ["MixedCase", "OtherCase", "x"]),
    ("*", list(COLUMNS)),
    ("* exclude (MixedCol), x + 1", ["k", "x", "a", "b", "name", "ts", "(x + 1)"]),
]


def _query(select_list: str) -> str:
    aggregates = any(f in select_list.lower() for f in ("sum(", "count("))
    group = " group by k" if aggregates and select_list.lower().startswith(("k", "t.k")) else ""
    return f"select {select_list} from raw.t as t{group}"


def _table_columns(con, sql: str) -> list[str]:
    """The columns of a table created from ``sql``, as dbt-duckdb materialises a model."""
    con.execute(f"create or replace table main.result as {sql}")
    return [row[0] for row in con.sql("describe main.result").fetchall()]


@pytest.fixture(scope="module")
def con():
    with duckdb.connect() as c:
        c.execute("create schema raw")
        columns = ", ".join(f'"{n}" {t}' for n, t in COLUMNS.items())
        c.execute(f"create table raw.t ({columns})")
        yield c


@pytest.mark.parametrize(("select_list", "names"), CASES, ids=[c[0] for c in CASES])
def test_names_are_duckdbs(con, select_list: str, names: list[str]) -> None:
    sql = _query(select_list)
    assert _table_columns(con, sql) == names  # the table itself is checked against DuckDB
    assert list(query_lineage(sql, schema=SCHEMA).columns) == names


def test_a_model_created_with_a_quoted_alias_keeps_its_case(con) -> None:
    sql = 'select a as "MixedCase", b as OtherCase, x from raw.t'
    con.execute(f"create or replace table raw.m as {sql}")
    described = [row[0] for row in con.sql("describe raw.m").fetchall()]
    stored = [
        row[0]
        for row in con.sql(
            "select column_name from information_schema.columns where table_name = 'm' "
            "order by ordinal_position"
        ).fetchall()
    ]
    assert described == stored == ["MixedCase", "OtherCase", "x"]
    assert list(query_lineage(sql, schema=SCHEMA).columns) == described


def test_downstream_references_resolve_case_insensitively_to_the_cased_column(con) -> None:
    schema = {"raw": {"m": {"MixedCase": "integer", "OtherCase": "integer"}}}
    sql = 'select "MixedCase", mixedcase as again, OTHERCASE from raw.m'
    assert _table_columns(con, sql) == ["MixedCase", "again", "OtherCase"]
    q = query_lineage(sql, schema=schema)
    assert q.columns == ("MixedCase", "again", "OtherCase")
    assert [(d.table, d.column) for d in q.fields["again"]] == [("raw.m", "MixedCase")]
    assert [(d.table, d.column) for d in q.fields["OtherCase"]] == [("raw.m", "OtherCase")]


def test_names_through_ctes_and_set_operations(con) -> None:
    sql = (
        'with c as (select a as "Foo", k from raw.t) '
        "select foo, c.K, sum(foo) from c group by all "
        "union all select 1, 'k', 2"
    )
    names = _table_columns(con, sql)
    assert names == ["Foo", "k", "sum(foo)"]
    assert list(query_lineage(sql, schema=SCHEMA).columns) == names


def test_an_unaliased_output_inside_a_cte_fails_closed() -> None:
    with pytest.raises(LineageError) as info:
        query_lineage("with c as (select x + 1 from raw.t) select * from c", schema=SCHEMA)
    message = str(info.value)
    assert "has no name; give it an alias" in message and "\n" not in message


def test_spark_names_the_verified_constructs_and_fails_closed_on_the_others() -> None:
    """Spark's names (verified against Spark in tests/spark/test_spark_names.py): as written,
    the qualifier dropped, count(*) is count(1); an unverified construct asks for an alias."""
    q = query_lineage(
        "select K, sum(t.x), count(*), x + 1 from raw.t as t group by k",
        schema=SCHEMA,
        dialect="spark",
    )
    assert q.columns == ("K", "sum(x)", "count(1)", "(x + 1)")
    with pytest.raises(LineageError) as info:
        query_lineage("select x % 2 from raw.t", schema=SCHEMA, dialect="spark")
    message = str(info.value)
    assert message == (
        "output column 1 (x % 2) has no name the lineage engine can be sure of on Spark; give "
        "it an alias with AS"
    )


# SQL fixtures DuckDB cannot run as written (a project macro, a construct DuckDB 2.0 rejects
# or deprecates): their names are checked by the engine tests alone.
NOT_RUNNABLE = {
    "02_masking",  # fjordbank_hmac_sha256 is the project's macro
    "44_whole_row_star_in_function",  # DuckDB rejects * inside these functions
    "51_lambdas_over_structs",  # the -> lambda syntax is deprecated in DuckDB
    "54_positional_and_asof_joins",  # the fixture's ASOF condition is an equality only
}


def test_every_sql_fixture_names_its_columns_as_duckdb_does() -> None:
    """Each fixture of tests/lineage/sql with a ``-- columns:`` line, run in DuckDB over empty
    tables of its schema: the table it creates has exactly those columns."""
    from test_lineage_query import FIXTURES  # the fixtures' loader (same directory)
    from test_lineage_query import SCHEMA as FIXTURE_SCHEMA

    cases = [f for f in FIXTURES if f.columns is not None and not f.error]
    assert {"30_quoted_identifiers", "60_unaliased_outputs", "61_quoted_mixed_case"} <= {
        f.name for f in cases
    }
    with duckdb.connect() as con:
        for schema, tables in FIXTURE_SCHEMA.items():
            con.execute(f"create schema {schema}")
            for table, columns in tables.items():
                if columns:
                    cols = ", ".join(f'"{n}" {t}' for n, t in columns.items())
                    con.execute(f"create table {schema}.{table} ({cols})")
        for fixture in cases:
            if fixture.name in NOT_RUNNABLE:
                continue
            assert tuple(_table_columns(con, fixture.sql)) == fixture.columns, fixture.name


@pytest.mark.slow
def test_a_built_dbt_project_has_the_columns_the_catalog_names(tmp_path) -> None:
    """A dbt-duckdb project whose models leave outputs unaliased and alias in mixed case,
    built for real: every model's columns in the catalog's graph are the warehouse's, and a
    downstream model's references (quoted, unquoted in another case) reach the cased column."""
    import subprocess
    import sys
    from pathlib import Path

    from catalog.lineage import ColumnRef, build_project_graph
    from catalog.manifest import compile_project

    project = tmp_path / "names_project"
    (project / "models").mkdir(parents=True)
    (project / "seeds").mkdir()
    warehouse = tmp_path / "names.duckdb"
    (project / "dbt_project.yml").write_text(
        "name: names_project\nversion: '1.0'\nprofile: names_project\n"
        "models:\n  names_project:\n    +materialized: table\n"
    )
    (project / "profiles.yml").write_text(
        "names_project:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{warehouse}'\n      threads: 1\n"
    )
    (project / "seeds" / "t.csv").write_text("k,x,a\np,1,2\nq,3,4\n")
    (project / "models" / "m1.sql").write_text(
        'select k, sum(x), count(*), a + 1, a as "MixedCase", max(a) as OtherCase\n'
        "from {{ ref('t') }} group by k, a\n"
    )
    (project / "models" / "m2.sql").write_text(
        'select "MixedCase", mixedcase as again, othercase, "sum(x)" from {{ ref(\'m1\') }}\n'
    )
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--quiet"],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    manifest = compile_project(project, target_path=tmp_path / "compiled")
    graph = build_project_graph(manifest)
    with duckdb.connect(str(warehouse)) as con:  # dbt's in-process connection is open
        for model in ("m1", "m2"):
            built = [r[0] for r in con.sql(f"describe main.{model}").fetchall()]
            assert graph.nodes[f"model.names_project.{model}"].columns == tuple(built)
    assert graph.nodes["model.names_project.m1"].columns == (
        "k", "sum(x)", "count_star()", "(a + 1)", "MixedCase", "OtherCase",
    )  # fmt: skip
    m1, m2 = "model.names_project.m1", "model.names_project.m2"
    sources = {
        (e.source, e.target_column)
        for e in graph.edges
        if e.target_node == m2 and e.type.value == "DIRECT"
    }
    assert (ColumnRef(m1, "MixedCase"), "again") in sources
    assert (ColumnRef(m1, "MixedCase"), "MixedCase") in sources
    assert (ColumnRef(m1, "OtherCase"), "OtherCase") in sources
