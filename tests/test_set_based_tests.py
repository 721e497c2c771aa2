"""The set-based tests of many columns in one query (dbt/tests/generic/columns_not_null.sql and
columns_accepted_values.sql, both on macros/testing/per_column_failures.sql): each model's
compiled test query run on a table with nulls or other values planted, their OpenLineage
assertions, and the error for a malformed declaration."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from catalog.manifest import ManifestError, compile_project
from catalog.openlineage.dbt_tests import dbt_test_assertions
from dagster_project.project import DBT_PROJECT_DIR


@pytest.fixture(scope="module")
def manifest(real_project) -> dict:
    return json.loads(real_project[1].read_text())


def _tests(manifest: dict, generic: str = "columns_not_null") -> list[dict]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("name") == generic
    ]


def _empty_table(conn, manifest: dict, test: dict, columns: list[str]) -> str:
    """The tested model as an empty table of varchar ``columns`` in the attached
    ``warehouse``, where its compiled test query reads it; its name."""
    model = manifest["nodes"][test["attached_node"]]
    table = f'warehouse.main."{model["alias"] or model["name"]}"'
    conn.execute(
        f"create or replace table {table} (" + ", ".join(f'"{c}" varchar' for c in columns) + ")"
    )
    return table


def test_every_model_tests_its_columns_in_one_query_and_no_column_twice(manifest):
    tests = _tests(manifest)
    assert len(tests) >= 40
    for t in tests:
        columns = t["test_metadata"]["kwargs"]["columns"]
        assert len(columns) == len(set(columns)), t["name"]
        model = manifest["nodes"][t["attached_node"]]
        assert set(columns) <= set(model["columns"]), t["name"]  # documented columns only
        assert t["name"] == f"columns_not_null_{model['name']}"
    # the per-column not_null tests are gone from the models (the seed keeps its own)
    assert not [
        n
        for n in manifest["nodes"].values()
        if (n.get("test_metadata") or {}).get("name") == "not_null"
        and n["attached_node"].startswith("model.")
    ]


def test_the_compiled_query_names_exactly_the_columns_holding_nulls(manifest):
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as warehouse")
    for t in _tests(manifest):
        columns = t["test_metadata"]["kwargs"]["columns"]
        table = _empty_table(conn, manifest, t, columns)
        conn.execute(
            f"insert into {table} values ({', '.join(['?'] * len(columns))})", ["x"] * len(columns)
        )
        sql = t["compiled_code"]
        assert conn.execute(sql).fetchall() == [], t["name"]  # no nulls: passes
        # nulls in the first and the last column (twice in the last)
        for nulled in ({0, len(columns) - 1}, {len(columns) - 1}):
            conn.execute(
                f"insert into {table} values ({', '.join(['?'] * len(columns))})",
                [None if i in nulled else "x" for i in range(len(columns))],
            )
        got = sorted(conn.execute(sql).fetchall())
        expected = {columns[-1]: 2}
        expected[columns[0]] = expected.get(columns[0], 0) + 1
        assert got == sorted(expected.items()), t["name"]
        conn.execute(f"delete from {table}")
        assert conn.execute(sql).fetchall() == [], t["name"]  # an empty table passes


@pytest.mark.parametrize(
    ("generic", "columns", "per_column"),
    [
        ("columns_not_null", ["a", "b"], "not_null"),
        ("columns_accepted_values", {"a": ["x"], "b": ["y", "z"]}, "accepted_values"),
    ],
)
def test_openlineage_gives_a_passed_test_one_assertion_per_column_and_a_failed_one_one(
    generic, columns, per_column
):
    uid = f"test.p.{generic}_m"
    manifest = {
        "nodes": {
            uid: {
                "name": f"{generic}_m",
                "attached_node": "model.p.m",
                "column_name": None,
                "test_metadata": {"name": generic, "kwargs": {"columns": columns}},
                "config": {"severity": "ERROR"},
            }
        }
    }

    def found(status):
        results = {"results": [{"unique_id": uid, "status": status}]}
        return [
            (a.assertion, a.column, a.success)
            for a in dbt_test_assertions(manifest, results)["model.p.m"]
        ]

    assert found("pass") == [(per_column, "a", True), (per_column, "b", True)]
    assert found("fail") == [(generic, None, False)]


def test_each_model_declares_its_accepted_values_once_on_documented_columns(manifest):
    tests = _tests(manifest, "columns_accepted_values")
    assert len(tests) >= 16
    models = set()
    for t in tests:
        columns = t["test_metadata"]["kwargs"]["columns"]
        model = manifest["nodes"][t["attached_node"]]
        assert set(columns) <= set(model["columns"]), t["name"]  # documented columns only
        assert all(isinstance(v, list) and v for v in columns.values()), t["name"]
        assert t["name"] == f"columns_accepted_values_{model['name']}"
        models.add(model["name"])
    assert len(models) == len(tests)
    # no per-column accepted_values test is left on a model
    assert not [
        n["name"]
        for n in manifest["nodes"].values()
        if (n.get("test_metadata") or {}).get("name") == "accepted_values"
    ]


def test_the_compiled_query_names_exactly_the_columns_holding_other_values(manifest):
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as warehouse")
    for t in _tests(manifest, "columns_accepted_values"):
        accepted = t["test_metadata"]["kwargs"]["columns"]
        columns = list(accepted)
        table = _empty_table(conn, manifest, t, columns)
        sql = t["compiled_code"]
        insert = f"insert into {table} values ({', '.join(['?'] * len(columns))})"
        assert conn.execute(sql).fetchall() == [], t["name"]  # an empty table passes
        # every accepted value of every column, and a null in each (a null is accepted)
        for i in range(max(len(v) for v in accepted.values())):
            conn.execute(insert, [v[min(i, len(v) - 1)] for v in accepted.values()])
        conn.execute(insert, [None] * len(columns))
        assert conn.execute(sql).fetchall() == [], t["name"]
        # other values in the first and the last column (twice in the last), a quote in one
        first, last = 0, len(columns) - 1
        conn.execute(insert, [("it's" if i == first else None) for i in range(len(columns))])
        for other in ("zz", "aa"):
            conn.execute(insert, [(other if i == last else None) for i in range(len(columns))])
        got = sorted(conn.execute(sql).fetchall())
        expected = {columns[last]: (2, "aa")}
        if first != last:
            expected[columns[first]] = (1, "it's")
        else:
            expected[columns[last]] = (3, "aa")
        assert got == sorted((c, n, v) for c, (n, v) in expected.items()), t["name"]
        # a value differing from an accepted one only in case is another value
        conn.execute(f"delete from {table}")
        conn.execute(insert, [v[0].swapcase() for v in accepted.values()])
        assert sorted(r[0] for r in conn.execute(sql).fetchall()) == sorted(columns), t["name"]


def _project(tmp_path, declaration: str):
    """A dbt project of one model, ``cases`` (``status`` and ``n``), with the set-based tests
    and their macro and ``declaration`` as its test's arguments."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    for part in ("tests/generic", "macros/testing"):
        shutil.copytree(DBT_PROJECT_DIR / part, project / part)
    (project / "dbt_project.yml").write_text(
        "name: p\nversion: '1.0.0'\nprofile: p\nconfig-version: 2\n"
    )
    (project / "profiles.yml").write_text(
        "p:\n  target: d\n  outputs:\n    d:\n      type: duckdb\n"
        f"      path: '{tmp_path / 'w.duckdb'}'\n"
    )
    (project / "models" / "cases.sql").write_text("select 'open' as status, 1 as n")
    (project / "models" / "cases.yml").write_text(
        "models:\n  - name: cases\n    data_tests:\n      - columns_accepted_values:\n"
        f"          arguments: {declaration}\n"
    )
    return project


@pytest.mark.parametrize(
    "columns",
    ["[status]", "{status: []}", "{status: open}", "{}"],
    ids=["a-list", "no-values", "a-string", "empty"],
)
def test_a_malformed_declaration_is_a_compile_error_naming_the_test_and_its_file(tmp_path, columns):
    project = _project(tmp_path, f"{{columns: {columns}}}")
    with pytest.raises(
        ManifestError,
        match=r"test columns_accepted_values_cases_\w* \(models/cases.yml\).* non-empty list",
    ):
        compile_project(project, profiles_dir=project, target_path=tmp_path / "target")


def test_unquoted_values_in_a_project_that_is_not_ours(tmp_path):
    """``quote: false`` (numbers), compiled in another project, run on planted rows."""
    project = _project(tmp_path, "{columns: {n: [1, 2]}, quote: false}")
    compile_project(project, profiles_dir=project, target_path=tmp_path / "target")
    (test,) = _tests(
        json.loads((tmp_path / "target" / "manifest.json").read_text()), "columns_accepted_values"
    )
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute(
        "create or replace table main.cases as select * from (values (1), (2), (null)) as t (n)"
    )
    assert conn.execute(test["compiled_code"]).fetchall() == []
    conn.execute("insert into main.cases values (3), (3), (10)")
    assert conn.execute(test["compiled_code"]).fetchall() == [("n", 3, "3")]  # least as a number
