"""The whole platform on a Spark standalone cluster (``make spark-cluster``: a master and two
workers on 127.0.0.1) against the DuckDB build: the same job with
``FJORDBANK_SPARK_MASTER=spark://...``, the keyed hash running on the executors.

Needs the ``spark`` extra and Java: ``make test-spark`` (this module in a process of its own:
the local-Spark module's metastore would be bound to its process).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")

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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster_build(tmp_path_factory, landing):
    """The same job with ``FJORDBANK_SPARK_MASTER=spark://...``: a master and two workers started
    under the temporary directory on free ports, stopped at the end whatever happens."""
    from dagster_project.spark_cluster import Cluster, master_state, start, stop

    root = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(root=root / "spark-cluster", port=_free_port(), webui_port=_free_port())
    with pytest.MonkeyPatch.context() as mp:
        environment(mp, root, landing, "spark")
        mp.setenv("FJORDBANK_SPARK_MASTER", cluster.master_url)
        from catalog.settings import settings
        from dagster_project.project import dbt_project
        from dagster_project.spark import spark_session, stop_spark

        try:
            start(cluster)
            result = materialise()
            session = spark_session(settings())
            manifest_path = dbt_project().manifest_path

            def fetch(relation: str):
                frame = session.table(relation)
                return frame.columns, [tuple(r) for r in frame.collect()]

            rows = rows_of(fetch, manifest_path)
            state = master_state(cluster)
            yield result, rows, session, cluster, state
        finally:
            stop_spark()
            stop(cluster)


def test_outputs_on_a_standalone_cluster_equal_duckdbs_row_for_row(duckdb_build, cluster_build):
    duck_result, duck_rows, _ = duckdb_build
    result, rows, _, cluster, state = cluster_build
    assert result.success, failures(result)
    assert duck_result.success, failures(duck_result)
    for model in COMPARED:
        duck_columns, duck = duck_rows[model]
        columns, got = rows[model]
        assert columns == duck_columns, model
        assert duck, f"{model} is empty: the comparison would prove nothing"
        assert sorted_rows(got) == sorted_rows(duck), model
    # the platform's application ran on the cluster, with both workers' cores
    assert len([w for w in state["workers"] if w["state"] == "ALIVE"]) == 2
    (app,) = [a for a in state["activeapps"] if a["name"] == "fjordbank"]
    assert app["cores"] == 2
    for n in (1, 2):  # each worker ran an executor of it (its work dir holds the executor's logs)
        assert list(cluster.work_dir(n).glob(f"{app['id']}/*/stderr")), n


def test_the_keyed_hash_runs_on_the_clusters_executors(cluster_build):
    from pyspark.sql.types import StringType

    from catalog.pseudonym import hmac_sha256_hex

    _, rows, session, cluster, _ = cluster_build

    def ancestry(_) -> str:  # nested: pickled by value, the workers cannot import tests
        """Run inside a Spark Python worker: its working directory, then the command lines of its
        parent and grandparent (the pyspark daemon and the JVM that started it)."""
        import os

        out, pid = [os.getcwd()], os.getpid()
        for _level in range(2):
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])  # the parent's pid
            with open(f"/proc/{pid}/cmdline") as f:
                out.append(f.read().replace("\0", " "))
        return "\n".join(out)

    columns, register = rows["group_customer_register"]
    ids = {r[columns.index("person_id")] for r in register}
    session.udf.register("test_ancestry", ancestry, StringType())
    national_id, person_id, where = session.sql(
        "select national_id, fjordbank_hmac_sha256(national_id), test_ancestry(1) "
        "from raw_bank.customers limit 1"
    ).first()
    assert person_id == hmac_sha256_hex(national_id, KEY.encode())
    assert person_id in ids
    # the UDF ran in a Python worker forked by pyspark's daemon under an executor's JVM, whose
    # working directory is one of the cluster's workers'
    cwd, daemon, executor = where.splitlines()
    assert "pyspark.daemon" in daemon
    assert "CoarseGrainedExecutorBackend" in executor
    assert Path(cwd).is_relative_to(cluster.root), cwd
