"""The set-based not_null test (dbt/tests/generic/columns_not_null.sql): each model's compiled
test query run on a table with nulls planted, and its OpenLineage assertions."""

from __future__ import annotations

import json

import duckdb
import pytest

from catalog.openlineage.dbt_tests import dbt_test_assertions


@pytest.fixture(scope="module")
def manifest(real_project) -> dict:
    return json.loads(real_project[1].read_text())


def _tests(manifest: dict) -> list[dict]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (n.get("test_metadata") or {}).get("name") == "columns_not_null"
    ]


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
        model = manifest["nodes"][t["attached_node"]]
        table = f'warehouse.main."{model["alias"] or model["name"]}"'
        conn.execute(
            f"create or replace table {table} ("
            + ", ".join(f'"{c}" varchar' for c in columns)
            + ")"
        )
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


def test_openlineage_gives_a_passed_test_one_assertion_per_column_and_a_failed_one_one():
    manifest = {
        "nodes": {
            "test.p.columns_not_null_m": {
                "name": "columns_not_null_m",
                "attached_node": "model.p.m",
                "column_name": None,
                "test_metadata": {"name": "columns_not_null", "kwargs": {"columns": ["a", "b"]}},
                "config": {"severity": "ERROR"},
            }
        }
    }

    def found(status):
        results = {"results": [{"unique_id": "test.p.columns_not_null_m", "status": status}]}
        return [
            (a.assertion, a.column, a.success)
            for a in dbt_test_assertions(manifest, results)["model.p.m"]
        ]

    assert found("pass") == [("not_null", "a", True), ("not_null", "b", True)]
    assert found("fail") == [("columns_not_null", None, False)]
