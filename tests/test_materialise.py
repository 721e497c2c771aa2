"""In-process materialisation of the whole graph through Dagster, on small generated data."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from dagster_project.landing.contract import TABLES

pytestmark = pytest.mark.slow

PERSONS = 400
AS_OF = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("platform")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_DATA_DIR", str(root / "data"))
        mp.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", "test-key")
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        (root / "dagster_home").mkdir()
        (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        from catalog.settings import settings

        generate(settings().landing_dir, persons=PERSONS, seed=7, as_of=AS_OF, progress=False)
        yield settings()


def _run(env) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("build_everything")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def _register(env) -> list[tuple]:
    with duckdb.connect(str(env.warehouse), read_only=True) as conn:
        return conn.execute("select * from main.group_customer_register order by all").fetchall()


@pytest.fixture(scope="module")
def first_run(env):
    result = _run(env)
    return result, _register(env)


def test_every_asset_materialises_and_every_check_passes(env, first_run):
    result, _ = first_run
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    for t in TABLES:
        assert dg.AssetKey([f"raw_{t.source}", t.name]) in materialised
    assert dg.AssetKey(["group_customer_register"]) in materialised
    assert dg.AssetKey(["marketing_propensity_scores"]) in materialised
    failed = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
    ]
    assert not failed, [(f.asset_key.to_user_string(), f.check_name) for f in failed]


def test_register_has_one_row_per_person_and_nothing_quarantined(env, first_run):
    with duckdb.connect(str(env.warehouse), read_only=True) as conn:
        persons = conn.execute(
            """
            select count(distinct national_id) from (
                select national_id from raw_bank.customers
                union all select national_id from raw_insurance.policies
                union all select national_id from raw_pension.agreements
                union all select national_id from raw_markets.securities_accounts
                union all select national_id from raw_asset_management.fund_holdings
            )
            """
        ).fetchone()[0]
        register = conn.execute(
            "select count(*), count(distinct person_id) from main.group_customer_register"
        ).fetchone()
        quarantined = conn.execute("select count(*) from quarantine.rejected_rows").fetchone()[0]
    assert register == (persons, persons)
    assert quarantined == 0


def test_second_run_gives_the_same_register(env, first_run):
    _, register = first_run
    assert _run(env).success
    assert _register(env) == register


def test_openlineage_events_validate_against_the_spec(env, first_run):
    """Every event of the run (ingest assets and dbt models) validates against the official
    schemas: the core schema, then each facet against its own file."""
    from tests.openlineage.spec_validation import validate_events_file

    events = env.openlineage_dir / "events.jsonl"
    assert events.exists()
    n = validate_events_file(events)
    # START and COMPLETE for every ingest table and for every dbt model and seed
    assert n >= 2 * (len(TABLES) + 30)
