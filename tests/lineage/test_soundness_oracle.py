"""The dynamic soundness oracle (tests/lineage/soundness.py): fast tests that prove it can fail
(a lineage with an edge removed is reported), and the slow run over every model of the project
and 500 generated queries, which must find no change the engine's lineage does not explain."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest
import soundness as s
import sqlglot

from catalog.lineage import QueryLineage, query_lineage
from dagster_project.project import DBT_PROJECT_DIR

# -- the comparison ----------------------------------------------------------------------------


def _result(columns: str, *rows: tuple) -> s.Result:
    return s.Result(tuple(columns.split()), rows)


def test_a_changed_column_without_a_path_is_reported_and_one_with_a_path_is_not():
    base = _result("id x y", (1, "a", 10), (2, "b", 20))
    new = _result("id x y", (1, "a", 10), (2, "c", 20))
    assert s.unexplained(base, new, {"x"}) == []
    assert s.unexplained(base, new, set()) == [("x",)]
    assert s.changed_columns(base, new) == {"x"}


def test_a_changed_row_count_changes_every_unreachable_column():
    base = _result("id x", (1, "a"), (2, "b"))
    new = _result("id x", (1, "a"))
    assert s.unexplained(base, new, {"x"}) == [("id",)]
    assert s.changed_columns(base, new) == {"id", "x"}


def test_values_swapped_between_rows_are_the_swapped_column_only():
    base = _result("id x y", (1, "a", True), (2, "b", False))
    swapped = _result("id x y", (1, "b", True), (2, "a", False))
    # x's values moved to other rows: only the pairing changed, and x is reachable
    assert s.unexplained(base, swapped, {"x"}) == []
    # neither reachable: the pair (x, id) was re-paired, reported as one group
    assert s.unexplained(base, swapped, set()) == [("id", "x")]
    # row order alone is no change
    assert s.unexplained(base, _result("id x y", *reversed(base.rows)), set()) == []


def test_nondeterministic_columns_are_ignored():
    base = _result("id r", (1, 0.5), (2, 0.7))
    new = _result("id r", (1, 0.9), (2, 0.7))
    assert s.unexplained(base, new, set(), ignore={"r"}) == []


# -- perturbations and generated queries -------------------------------------------------------


@pytest.fixture(scope="module")
def oracle() -> s.GeneratedOracle:
    return s.GeneratedOracle()


def test_every_column_has_value_perturbations_that_change_it(oracle):
    for table, cols in s.GEN_TABLES.items():
        for col in cols:
            ps = [(p, copy) for p, copy in oracle.perturbations[table] if p.column == col]
            assert any(not p.removes_rows for p, _ in ps), (table, col)
            for p, copy in ps:
                if p.removes_rows:
                    continue
                base = s.Result.of(oracle.conn.execute(f"select {col} from oracle_gen.{table}"))
                new = s.Result.of(oracle.conn.execute(f"select {col} from {copy}"))
                assert len(base.rows) == len(new.rows), p.label
                assert base.rows != new.rows, f"{p.label} changes nothing"


def test_the_engines_lineage_explains_a_join_with_aggregates(oracle):
    sql = (
        "select p.city as c0, count(*) as c1, string_agg(o.product, ',' order by o.oid) as c2 "
        "from s.people as p join s.orders as o on p.id = o.pid where o.paid group by 1"
    )
    stats = s.Stats()
    assert oracle.check("join", sql, stats) == []
    assert stats.perturbations > 20 and stats.changed_reachable_pairs


def _without(lineage: QueryLineage, column: str, output: str | None) -> QueryLineage:
    """``lineage`` with the dependencies on ``column`` removed (from ``output``, or from the
    dataset-level inputs when None)."""
    if output is None:
        return dataclasses.replace(
            lineage, dataset=tuple(d for d in lineage.dataset if d.column != column)
        )
    fields = dict(lineage.fields)
    fields[output] = tuple(d for d in fields[output] if d.column != column)
    return dataclasses.replace(lineage, fields=fields)


@pytest.mark.parametrize(
    ("sql", "column", "output", "perturbed"),
    [
        # a DIRECT edge removed: the value changes without an edge
        ("select p.name as c0, p.score + 1 as c1 from s.people as p", "score", "c1", "score"),
        # a FILTER edge removed: rows come and go
        ("select p.name as c0 from s.people as p where p.vip", "vip", None, "vip"),
        # the edge count(*) gets from every column removed: a row removal changes the count
        ("select count(*) as c0 from s.orders as o", "pid", "c0", "remove"),
        # a CONDITIONAL edge removed
        (
            "select case when o.paid then 'y' else 'n' end as c0 from s.orders as o",
            "paid",
            "c0",
            "paid",
        ),
    ],
)
def test_a_lineage_with_an_edge_removed_is_reported(oracle, sql, column, output, perturbed):
    true = query_lineage(sql, schema=oracle.schema)
    assert oracle.check("true", sql, s.Stats(), true) == []
    wrong = _without(true, column, output)
    if perturbed == "remove":  # remove every column's edge: any removal is then unexplained
        for c in ("oid", "product", "amount", "ordered", "paid"):
            wrong = _without(wrong, c, output)
    findings = oracle.check("wrong", sql, s.Stats(), wrong)
    assert findings, "the oracle missed a removed edge"
    assert all(f.subject == "wrong" and f.sql == sql for f in findings)
    assert any(perturbed in f.perturbation for f in findings)


def test_the_generator_is_deterministic_and_duckdb_runs_nearly_all_of_it(oracle):
    first = [s.QueryGenerator(3).statement() for _ in range(1)]
    a, b = s.QueryGenerator(3), s.QueryGenerator(3)
    queries = [a.statement() for _ in range(60)]
    assert queries == [b.statement() for _ in range(60)]
    assert queries[0] == first[0]
    ok = 0
    for q in queries:
        try:
            oracle.conn.execute(q).fetchall()
            ok += 1
        except duckdb.Error:  # DuckDB refusals are counted, not raised
            pass
    assert ok >= 50
    text = " ".join(queries).lower()
    for shape in ("with ", " join ", "group by", " over (", "exists", "union", "limit"):
        assert shape in text, shape


# -- the mutator -------------------------------------------------------------------------------

_MODEL = """with persons as (select * from "w"."main"."persons"),
ranked as (
    select person_id, score, row_number() over (partition by city order by score desc) as r
    from persons
),
top as (select * from ranked where r = 1 and score > 0),
joined as (
    select top.person_id, coalesce(o.total, 0) as total,
        case when top.score > 5 then 'hi' else 'lo' end as band
    from top inner join "w"."main"."orders" as o on top.person_id = o.person_id
    where o.total > 0
),
people as (select person_id, count(*) as n from joined group by person_id)
select * from joined inner join people on joined.person_id = people.person_id
union all select * from joined inner join people on joined.person_id = people.person_id
where joined.total > 40
"""


def _mutants_run_on(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, list]:
    return {name: sorted(conn.execute(m).fetchall()) for name, m in s.mutants(sql)}


def test_the_mutator_rewrites_a_model_into_valid_different_sql_with_the_same_rows():
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as w")
    conn.execute(
        "create table w.main.persons as select i as person_id, i % 3 as city, "
        "i % 7 as score from range(30) t(i)"
    )
    conn.execute(
        "create table w.main.orders as select i % 40 as person_id, "
        "case when i % 5 = 0 then null else i end as total from range(80) t(i)"
    )
    original = sorted(conn.execute(_MODEL).fetchall())
    assert original
    made = dict(s.mutants(_MODEL))
    for shape, text in [
        ("inline_ctes", "FROM (SELECT"),
        ("rank_filter_as_qualify", "QUALIFY r = 1"),
        ("where_into_on", "AND o.total > 0"),
        ("case_as_if", "IF(top.score > 5"),
        ("coalesce_as_case", "CASE WHEN NOT o.total IS NULL"),
        ("group_by_position", "GROUP BY 1"),
        ("named_windows", "WINDOW mut_w0 AS"),
        ("star_qualified", "SELECT persons.*"),
        ("union_swapped", "UNION ALL"),
        ("all", "QUALIFY"),
    ]:
        assert text in made[shape], shape
    assert len(set(made.values())) == len(made)
    assert all(" ".join(m.split()) != " ".join(_MODEL.split()) for m in made.values())
    rows = _mutants_run_on(conn, _MODEL)
    # every mutant runs; those that only reshape give the original's rows
    for shape in (
        "inline_ctes",
        "rank_filter_as_qualify",
        "where_into_on",
        "case_as_if",
        "coalesce_as_case",
        "group_by_position",
        "named_windows",
        "star_qualified",
        "union_swapped",
        "all",
    ):
        assert rows[shape] == original, shape
    # nothing applies to a query without the shapes
    assert s.mutants("select 1 as x") == []


def test_the_mutant_checker_reports_a_mutant_whose_lineage_lacks_an_edge():
    conn = duckdb.connect(config={"threads": 1})
    oracle = s.MutantOracle(conn)
    conn.execute(
        "create table oracle_mut.p0 as select i as id, i % 4 as grp, i * 10 as amount "
        "from range(12) t(i)"
    )
    schema = {"oracle_mut": {"p0": {"id": "BIGINT", "grp": "BIGINT", "amount": "BIGINT"}}}
    perturbations = []
    pert = s.value_perturbations("oracle_mut.p0", "oracle_mut.p0", "amount", "BIGINT", default=True)
    pert.append(s.removal("oracle_mut.p0", "oracle_mut.p0", "grp", 2))
    for k, p in enumerate(pert):
        conn.execute(f"create table oracle_mutp.p0_{k} as {p.sql}")
        perturbations.append((p, f"oracle_mutp.p0_{k}"))
    conn.execute(
        "create table oracle_mutp.p0_reversed as select * from oracle_mut.p0 order by rowid desc"
    )
    model = (
        "with t as (select grp, sum(amount) as total from oracle_mut.p0 group by grp) "
        "select * from t"
    )
    made = dict(s.mutants(model))
    sql = made["all"]
    assert "FROM (SELECT" in sql and "GROUP BY 1" in sql
    expected = s.Result.of(conn.execute(model))
    stats = s.Stats()
    assert oracle.check("m~all", sql, schema, perturbations, stats, expected=expected) == []
    assert stats.subjects == 1 and stats.equivalent == 1 and stats.perturbations >= 2
    true = query_lineage(sql, schema=schema)
    findings = oracle.check(
        "m~all", sql, schema, perturbations, s.Stats(), lineage=_without(true, "amount", "total")
    )
    assert findings and {f.columns for f in findings} == {("total",)}


def test_the_mutator_rewrites_the_projects_compiled_models(tmp_path, monkeypatch):
    from catalog.manifest import compile_project

    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path / "data"))
    manifest = compile_project(DBT_PROJECT_DIR, target_path=tmp_path / "target")
    wanted = {
        "int_group_sharing_consents_resolved": {"rank_filter_as_qualify", "coalesce_as_case"},
        "int_investments_consented": {"union_swapped", "group_by_position", "case_as_if"},
        "marketing_campaign_audience": {"named_windows", "rank_filter_as_qualify"},
        "int_page_views_consented": {"join_as_in", "join_as_exists", "case_as_if"},
        "int_bank_credit_summarised": {"where_into_on", "group_by_position"},
    }
    for model in manifest.models:
        if model.name not in wanted:
            continue
        made = dict(s.mutants(model.compiled_code))
        assert wanted.pop(model.name) | {"inline_ctes", "all"} <= set(made), model.name
        original = sqlglot.parse_one(model.compiled_code, read="duckdb").sql("duckdb")
        for name, sql in made.items():
            assert sql != original and sqlglot.parse_one(sql, read="duckdb"), name
    assert not wanted, f"models not in the project: {sorted(wanted)}"


# -- the oracle over the project and the corpus (slow) -----------------------------------------


@pytest.mark.slow
def test_no_unexplained_change_in_the_project_and_500_generated_queries(tmp_path, monkeypatch):
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path / "data"))
    project, generated, mutated = s.run_oracle(DBT_PROJECT_DIR, tmp_path, queries=500)
    print()
    print(project.summary("soundness oracle, project models"))
    print(generated.summary("soundness oracle, generated queries"))
    print(
        mutated.summary(
            f"soundness oracle, {mutated.models} models mutated into "
            f"{mutated.mutants} mutants ({mutated.equivalent} with the original's "
            "rows)"
        )
    )
    models = sum(1 for p in DBT_PROJECT_DIR.glob("models/**/*.sql"))
    assert project.subjects == models
    assert project.perturbations > 200
    assert generated.subjects + generated.refused_by_engine >= 500
    assert generated.refused_by_engine <= 25, generated.refusals.most_common(5)
    # a weak oracle would change nothing: most perturbations must reach something
    assert project.coverage > 0.1 and generated.coverage > 0.1
    # every intermediate and mart model is mutated, and nearly every mutant runs and is analysed
    marts = sum(
        1
        for p in DBT_PROJECT_DIR.glob("models/*/**/*.sql")
        if p.relative_to(DBT_PROJECT_DIR / "models").parts[0] in ("intermediate", "marts")
    )
    assert mutated.models == marts
    assert mutated.subjects >= 0.9 * mutated.mutants > 4 * marts
    assert mutated.perturbations > 2000 and mutated.coverage > 0.1
    findings = project.findings + generated.findings + mutated.findings
    assert not findings, f"{len(findings)} unexplained change(s):\n" + "\n".join(
        f.line() for f in findings
    )
