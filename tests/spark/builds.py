"""The whole platform built by one Dagster job on one target, for the Spark tests: the shared
generated landing files, the environment of a target's data dir, the job run in-process, and
the compared outputs read back.

Spark's Hive metastore client stays bound to the first data dir of a process
(``dagster_project.spark.spark_session`` refuses a second one), so each module that builds on
Spark runs in its own process: ``make test-spark`` runs the modules one by one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

import dagster as dg
import pytest

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


def environment(mp: pytest.MonkeyPatch, root, landing, target: str) -> None:
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


def materialise():
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("build_everything")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def rows_of(fetch, manifest_path) -> dict[str, tuple[list[str], list[tuple]]]:
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


def sorted_rows(rows: list[tuple]) -> list[tuple]:
    rows = [tuple(_normalised(v) for v in r) for r in rows]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def failures(result) -> list[str]:
    out = []
    for e in result.all_events:
        if e.is_step_failure:
            out.append(f"{e.step_key}: {e.step_failure_data.error.message.splitlines()[0]}")
    return out
