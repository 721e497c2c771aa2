"""The whole platform on local Spark (dbt-spark, session method) against the DuckDB build.

Both targets run the same Dagster job (``build_everything``: ingest, the policy gate, dbt build,
dbt tests and the blocking row checks) on the same generated landing files, each with its own
data dir under pytest's temporary directory. The outputs must be equal row for row and
``catalog check`` must give the same, clean verdict on both compiled projects.

Needs the ``spark`` extra and Java: ``make test-spark``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")

from dagster_project.landing.contract import TABLES
from dagster_project.project import DBT_PROJECT_DIR
from dagster_project.translator import raw_asset_key

pytestmark = [pytest.mark.slow, pytest.mark.spark]

PERSONS = 2_000  # enough for statistics cells of at least 5 persons
AS_OF = dt.date(2026, 11, 2)
KEY = "spark-test-key"
COMPARED = (
    "group_customer_register",
    "marketing_campaign_audience",
    "marketing_social_matching_audience",
    "marketing_propensity_scores",
    "statistics_customers_by_postcode_area",
)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("landing")
    generate(root, persons=PERSONS, seed=11, as_of=AS_OF, progress=False)
    return root


def _environment(mp: pytest.MonkeyPatch, root, landing, target: str) -> None:
    mp.setenv("FJORDBANK_DATA_DIR", str(root / "data"))
    mp.setenv("FJORDBANK_LANDING_DIR", str(landing))
    mp.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
    mp.setenv("FJORDBANK_PSEUDONYM_KEY", KEY)
    mp.setenv("DBT_TARGET", target)
    mp.delenv("FJORDBANK_WAREHOUSE", raising=False)
    mp.delenv("FJORDBANK_SPARK_METHOD", raising=False)
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir(exist_ok=True)
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")


def _materialise():
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("build_everything")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def _rows_of(fetch, manifest_path) -> dict[str, tuple[list[str], list[tuple]]]:
    manifest = json.loads(manifest_path.read_text())
    relations = {
        n["name"]: n["relation_name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    }
    return {name: fetch(relations[name]) for name in COMPARED}


def _normalised(value):
    # Doubles may differ in the last bit between the JVM's and DuckDB's exp(); decimals in
    # their scale (DuckDB's sum keeps 2 places, Spark's too, but ratios may widen).
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, decimal.Decimal):
        return value.quantize(decimal.Decimal("0.000001"))
    return value


def _sorted(rows: list[tuple]) -> list[tuple]:
    rows = [tuple(_normalised(v) for v in r) for r in rows]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory, landing):
    root = tmp_path_factory.mktemp("duckdb")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root, landing, "duckdb")
        from catalog.settings import settings
        from dagster_project.project import dbt_project

        result = _materialise()
        s = settings()
        manifest_path = dbt_project().manifest_path

        def fetch(relation: str):
            with duckdb.connect(str(s.warehouse), read_only=True) as conn:
                cur = conn.execute(f"select * from {relation}")
                return [d[0] for d in cur.description], cur.fetchall()

        yield result, _rows_of(fetch, manifest_path), manifest_path


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory, landing):
    root = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root, landing, "spark")
        from catalog.settings import settings
        from dagster_project.project import dbt_project
        from dagster_project.spark import spark_session, stop_spark

        try:
            result = _materialise()
            s = settings()
            manifest_path = dbt_project().manifest_path
            session = spark_session(s)

            def fetch(relation: str):
                frame = session.table(relation)
                return frame.columns, [tuple(r) for r in frame.collect()]

            yield result, _rows_of(fetch, manifest_path), manifest_path, session
        finally:
            stop_spark()


def _failures(result) -> list[str]:
    out = []
    for e in result.all_events:
        if e.is_step_failure:
            out.append(f"{e.step_key}: {e.step_failure_data.error.message.splitlines()[0]}")
    return out


def test_every_asset_materialises_and_every_check_passes_on_spark(spark_build):
    result, _, _, _ = spark_build
    assert result.success, _failures(result)
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
    assert duck_result.success, _failures(duck_result)
    assert spark_result.success, _failures(spark_result)
    for model in COMPARED:
        duck_columns, duck = duck_rows[model]
        spark_columns, spark = spark_rows[model]
        assert spark_columns == duck_columns, model
        assert duck, f"{model} is empty: the comparison would prove nothing"
        assert _sorted(spark) == _sorted(duck), model


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


# --- the same build on a Spark standalone cluster (make spark-cluster) ---------------------------


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
        _environment(mp, root, landing, "spark")
        mp.setenv("FJORDBANK_SPARK_MASTER", cluster.master_url)
        from catalog.settings import settings
        from dagster_project.project import dbt_project
        from dagster_project.spark import spark_session, stop_spark

        try:
            start(cluster)
            result = _materialise()
            session = spark_session(settings())
            manifest_path = dbt_project().manifest_path

            def fetch(relation: str):
                frame = session.table(relation)
                return frame.columns, [tuple(r) for r in frame.collect()]

            rows = _rows_of(fetch, manifest_path)
            state = master_state(cluster)
            yield result, rows, session, cluster, state
        finally:
            stop_spark()
            stop(cluster)


def test_outputs_on_a_standalone_cluster_equal_duckdbs_row_for_row(duckdb_build, cluster_build):
    duck_result, duck_rows, _ = duckdb_build
    result, rows, _, cluster, state = cluster_build
    assert result.success, _failures(result)
    assert duck_result.success, _failures(duck_result)
    for model in COMPARED:
        duck_columns, duck = duck_rows[model]
        columns, got = rows[model]
        assert columns == duck_columns, model
        assert duck, f"{model} is empty: the comparison would prove nothing"
        assert _sorted(got) == _sorted(duck), model
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
