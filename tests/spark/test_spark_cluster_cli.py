"""The standalone cluster's command and the driver's confs for it, without starting Spark. Fast;
they run in `make test` (the cluster itself is started in test_spark_build.py, `make test-spark`).
"""

from __future__ import annotations

import socket
import sys

import pytest

from catalog.settings import settings
from dagster_project.spark import MASTER_ENV, SparkUnavailable, spark_conf, spark_session
from dagster_project.spark_cluster import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FJORDBANK_SPARK_METHOD", raising=False)
    monkeypatch.delenv(MASTER_ENV, raising=False)
    return tmp_path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_and_stop_without_a_cluster(data_dir, capsys):
    assert main(["status"]) == 1
    assert capsys.readouterr().out.strip() == (
        f"no Spark cluster runs from {data_dir / 'spark-cluster'}"
    )
    assert main(["stop"]) == 0
    assert capsys.readouterr().out.strip() == "no Spark cluster was running"


def test_start_refuses_a_taken_port_in_one_line(data_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["start", "--port", str(port), "--webui-port", str(_closed_port())]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: port {port} on 127.0.0.1 is taken by another program: stop it, or choose "
        "other ports (--port/--webui-port)"
    )
    assert not list((data_dir / "spark-cluster").glob("*.pid"))  # nothing was started


def test_a_standalone_master_gets_small_executors_and_this_python(data_dir, monkeypatch):
    assert "spark.executor.memory" not in spark_conf(settings())  # local[2]: no executors
    monkeypatch.setenv(MASTER_ENV, "spark://127.0.0.1:7077")
    conf = spark_conf(settings())
    assert conf["spark.master"] == "spark://127.0.0.1:7077"
    assert conf["spark.pyspark.python"] == sys.executable  # the UDF's Python on the workers
    assert conf["spark.executor.cores"] == "1"
    assert conf["spark.cores.max"] == "2"


def test_a_master_that_does_not_answer_fails_closed_in_one_line(data_dir, monkeypatch):
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    master = f"spark://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv(MASTER_ENV, master)
    with pytest.raises(SparkUnavailable) as exc:
        spark_session(settings())
    assert str(exc.value) == (
        f"{MASTER_ENV}={master}: no Spark master answers there; start one with "
        "make spark-cluster, or unset it for a local Spark"
    )
