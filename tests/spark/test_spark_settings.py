"""The Spark target's pieces that need no Spark: confs, types, the check queries' dialect, the
profile. Fast; they run in `make test` whether or not the spark extra is installed."""

from __future__ import annotations

import ast

import pytest
import yaml

from catalog.settings import settings
from dagster_project.landing.contract import TABLES
from dagster_project.landing.load import METADATA_COLUMNS
from dagster_project.project import DBT_PROJECT_DIR
from dagster_project.spark import (
    CONF_ENV,
    SparkUnavailable,
    export_spark_environment,
    is_spark,
    spark_conf,
    spark_session,
    spark_type,
    transpile,
)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FJORDBANK_SPARK_METHOD", raising=False)
    monkeypatch.delenv("FJORDBANK_SPARK_MASTER", raising=False)
    return tmp_path


def test_local_spark_stays_off_the_network_and_inside_the_data_dir(data_dir):
    conf = spark_conf(settings())
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.master"].startswith("local")
    assert conf["spark.sql.warehouse.dir"] == str(data_dir / "spark-warehouse")
    assert str(data_dir / "spark-metastore") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert not any(k.startswith(("spark.jars", "spark.jars.packages")) for k in conf)


def test_the_profile_receives_the_session_confs(data_dir, monkeypatch):
    monkeypatch.delenv(CONF_ENV, raising=False)
    export_spark_environment(settings())
    import os

    assert ast.literal_eval(os.environ[CONF_ENV]) == spark_conf(settings())
    monkeypatch.setenv("FJORDBANK_SPARK_METHOD", "thrift")
    monkeypatch.delenv(CONF_ENV)
    export_spark_environment(settings())
    assert os.environ[CONF_ENV] == "{}"  # a cluster gets none of the local session's confs


def test_the_spark_target_is_a_session_by_default_and_a_cluster_by_environment():
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    spark = profile["fjordbank"]["outputs"]["spark"]
    assert spark["type"] == "spark"
    assert "FJORDBANK_SPARK_METHOD', 'session'" in spark["method"]
    for field in ("host", "port", "token", "cluster", "schema"):
        assert "env_var('FJORDBANK_SPARK_" in str(spark[field]), field
    assert profile["fjordbank"]["target"] == "duckdb"


def test_raw_columns_get_spark_types():
    assert spark_type("VARCHAR") == "STRING"
    assert spark_type("TIMESTAMPTZ") == "TIMESTAMP"
    assert spark_type("DECIMAL(18,2)") == "DECIMAL(18, 2)"
    assert spark_type("BIGINT") == "BIGINT"
    for t in TABLES:  # every contract type has one
        for c in t.columns:
            assert spark_type(c.type.duckdb_type)
    want = {"VARCHAR": "STRING", "BIGINT": "BIGINT", "DATE": "DATE"}
    assert [spark_type(ty) for _, ty in METADATA_COLUMNS] == [
        want[ty] for _, ty in METADATA_COLUMNS
    ]


def test_check_queries_are_transpiled_to_spark_sql():
    sql = transpile(
        'select count(*) from "fjordbank"."marketing_scores" where "scored_on" is distinct from '
        "current_date"
    )
    assert "`fjordbank`.`marketing_scores`" in sql
    assert '"' not in sql  # a double-quoted name would be a string literal in Spark
    assert "IS DISTINCT FROM CURRENT_DATE" in sql  # Spark 3.4+ has it
    assert "FJORDBANK_HMAC_SHA256(x)" in transpile("select fjordbank_hmac_sha256(x) from t")


def test_spark_session_refuses_a_cluster_method_in_one_line(data_dir, monkeypatch):
    monkeypatch.setenv("FJORDBANK_SPARK_METHOD", "thrift")
    with pytest.raises(SparkUnavailable, match="local Spark session") as exc:
        spark_session(settings())
    assert "\n" not in str(exc.value)
    assert is_spark("spark") and not is_spark("duckdb")


def test_a_second_data_dir_in_one_process_is_refused_in_one_line(data_dir, monkeypatch, tmp_path):
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    import dagster_project.spark as spark

    first = tmp_path.parent / "first-data" / "spark-metastore"
    monkeypatch.setattr(spark, "_bound_metastore", [first])
    monkeypatch.setattr(spark, "_sessions", {})
    with pytest.raises(SparkUnavailable) as exc:
        spark_session(settings())
    message = str(exc.value)
    assert "\n" not in message
    assert str(first) in message and f"run the data dir {data_dir} in a new process" in message
