"""The whole platform on local Spark (dbt-spark, session method) against the DuckDB build.

Both targets run the same Dagster job (``build_everything``: ingest, the policy gate, dbt build,
dbt tests and the blocking row checks) on the same generated landing files, each with its own
data dir under pytest's temporary directory. The outputs must be equal row for row and
``catalog check`` must give the same, clean verdict on both compiled projects.

Needs the ``spark`` extra and Java: ``make test-spark``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")

from dagster_project.landing.contract import TABLES
from dagster_project.project import DBT_PROJECT_DIR
from dagster_project.translator import raw_asset_key
from tests.spark.builds import (
    COMPARED,
    KEY,
    environment,
    failures,
    materialise,
    rows_of,
    sorted_rows,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory, landing):
    root = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        environment(mp, root, landing, "spark")
        from catalog.settings import settings
        from dagster_project.project import dbt_project
        from dagster_project.spark import spark_session, stop_spark

        try:
            result = materialise()
            s = settings()
            manifest_path = dbt_project().manifest_path
            session = spark_session(s)

            def fetch(relation: str):
                frame = session.table(relation)
                return frame.columns, [tuple(r) for r in frame.collect()]

            yield result, rows_of(fetch, manifest_path), manifest_path, session
        finally:
            stop_spark()


def test_every_asset_materialises_and_every_check_passes_on_spark(spark_build):
    result, _, _, _ = spark_build
    assert result.success, failures(result)
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    for t in TABLES:
        assert raw_asset_key(t.source, t.name) in materialised
    assert dg.AssetKey(["group_customer_register"]) in materialised
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    names = {ev.check_name for ev in evaluations}
    # dbt tests and the lineage-derived row checks both ran on Spark, and all passed.
    assert {"no_objectors", "min_cell_size", "scored_today"} <= names
    assert all(ev.passed for ev in evaluations), [
        ev.check_name for ev in evaluations if not ev.passed
    ]


def test_outputs_are_equal_row_for_row_on_both_targets(duckdb_build, spark_build):
    duck_result, duck_rows, _ = duckdb_build
    spark_result, spark_rows, _, _ = spark_build
    assert duck_result.success, failures(duck_result)
    assert spark_result.success, failures(spark_result)
    for model in COMPARED:
        duck_columns, duck = duck_rows[model]
        spark_columns, spark = spark_rows[model]
        assert spark_columns == duck_columns, model
        assert duck, f"{model} is empty: the comparison would prove nothing"
        assert sorted_rows(spark) == sorted_rows(duck), model


def test_person_id_is_the_same_keyed_hash_on_spark(spark_build):
    from catalog.pseudonym import hmac_sha256_hex

    _, rows, _, session = spark_build
    columns, register = rows["group_customer_register"]
    ids = {r[columns.index("person_id")] for r in register}
    assert len(ids) == len(register)
    # person_id carries no national id; recompute one from the raw table through Python.
    national_id = session.sql("select national_id from raw_bank.customers limit 1").first()[0]
    assert hmac_sha256_hex(national_id, KEY.encode()) in ids


def test_raw_tables_in_spark_have_the_contract_types(spark_build):
    from dagster_project.landing.load import METADATA_COLUMNS
    from dagster_project.spark import spark_type

    _, _, _, session = spark_build
    for t in TABLES:
        schema = session.table(f"raw_{t.source}.{t.name}").schema
        got = [(f.name, f.dataType.simpleString()) for f in schema.fields]
        want = [(c.name, _simple(spark_type(c.type.duckdb_type))) for c in t.columns] + [
            (n, _simple(spark_type(ty))) for n, ty in METADATA_COLUMNS
        ]
        assert got == want, t.name


def _simple(spark_sql_type: str) -> str:
    """A Spark SQL type as ``DataType.simpleString()`` writes it: ``decimal(18,2)``."""
    return spark_sql_type.lower().replace(" ", "")


def test_catalog_check_is_clean_and_the_same_on_both_targets(duckdb_build, spark_build):
    from dagster_project.catalog_view import catalog_view

    _, _, duck_manifest = duckdb_build
    _, _, spark_manifest, _ = spark_build
    duck_view, spark_view = catalog_view(duck_manifest), catalog_view(spark_manifest)
    assert spark_view.manifest.adapter_type == "spark"
    assert duck_view.verdict().to_json() == spark_view.verdict().to_json()
    # Same column lineage, parsed with each target's dialect.
    assert _edges(spark_view.graph) == _edges(duck_view.graph)
    for manifest in (duck_manifest, spark_manifest):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "catalog",
                "check",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--manifest",
                str(manifest),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "privacy policy holds" in done.stdout


def _edges(graph) -> set:
    data = graph.to_json()
    return {json.dumps(e, sort_keys=True) for e in data.get("edges", [])}
