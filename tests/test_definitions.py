"""The Definitions load, and their resolved asset specs are what compliance and review expect."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.landing.contract import TABLES
from dagster_project.translator import company_for, group_for, owners_for, team


@pytest.fixture(scope="module")
def definitions(tmp_path_factory) -> dg.Definitions:
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_DATA_DIR", str(data))
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", "test-key")
        from dagster_project.definitions import defs

        d = defs()
        d.resolve_all_asset_specs()
        yield d


@pytest.fixture(scope="module")
def specs(definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    return {s.key: s for s in definitions.resolve_all_asset_specs()}


def test_one_ingest_asset_per_landing_table(specs):
    for t in TABLES:
        spec = specs[dg.AssetKey([f"raw_{t.source}", t.name])]
        assert spec.group_name == "landing"
        assert spec.owners, f"{t.source}.{t.name} has no owner"
        assert {"csv", "duckdb"} <= set(spec.kinds)


def test_dbt_sources_meet_the_ingest_assets(specs):
    """A staging model depends on the ingest asset of its table (no dangling source keys)."""
    stg = specs[dg.AssetKey(["stg_markets__securities_holdings"])]
    assert dg.AssetKey(["raw_markets", "securities_holdings"]) in {d.asset_key for d in stg.deps}
    assert stg.owners == [team("Fjordbank Markets")]
    assert stg.group_name == "staging"


def test_marts_grouped_by_purpose_and_owned_by_the_parent_bank(specs):
    register = specs[dg.AssetKey(["group_customer_register"])]
    assert register.group_name == "register"
    assert register.owners == [team("Fjordbank ASA")]
    assert {"dbt", "duckdb"} <= set(register.kinds)
    assert register.description
    groups = {s.group_name for s in specs.values()}
    assert {"landing", "staging", "intermediate", "register", "marketing", "credit"} <= groups
    assert {"statistics", "model_development"} <= groups


def test_column_schema_carries_privacy_tags(specs):
    register = specs[dg.AssetKey(["group_customer_register"])]
    schema = register.metadata["dagster/column_schema"]
    cols = {c.name: c for c in schema.columns}
    nid = cols["national_id"]
    assert nid.tags["privacy/category"] == "user.government_id.national_identification_number"
    assert "essential.service.customer_administration" in nid.tags["privacy/purposes"]
    assert nid.tags["privacy/legal_basis"]
    # Every column of every dbt asset is tagged.
    for spec in specs.values():
        schema = spec.metadata.get("dagster/column_schema")
        if schema is None:
            continue
        for c in schema.columns:
            assert "privacy/category" in c.tags, f"{spec.key.to_user_string()}.{c.name}"


def test_jobs_schedules_and_checks(definitions, specs):
    job = definitions.resolve_job_def("build_everything")
    assert job is not None
    schedule = definitions.resolve_schedule_def("daily_build")
    assert schedule.job_name == "daily_run"
    sweep = dg.AssetKey(["retention_sweep"])
    # the schedule sweeps first; a build (make run, the UI) never deletes as a side effect
    assert sweep in definitions.resolve_job_def("daily_run").asset_layer.selected_asset_keys
    assert sweep not in job.asset_layer.selected_asset_keys
    assert schedule.cron_schedule == "0 5 * * *"
    assert schedule.execution_timezone == "Europe/Oslo"
    checks = {
        key
        for assets_def in definitions.resolve_asset_graph().assets_defs
        for key in assets_def.check_keys
    }
    assert dg.AssetCheckKey(dg.AssetKey(["raw_bank", "customers"]), "no_quarantined_rows") in checks
    # dbt tests become asset checks on their models
    assert any(k.asset_key == dg.AssetKey(["group_customer_register"]) for k in checks)


@pytest.mark.parametrize(
    ("props", "group", "company"),
    [
        (
            {"resource_type": "source", "source_name": "markets", "name": "securities_holdings"},
            "landing",
            "Fjordbank Markets",
        ),
        (
            {
                "resource_type": "model",
                "fqn": ["fjordbank", "staging", "pension", "stg_pension__agreements"],
            },
            "staging",
            "Fjordbank Pensjon AS",
        ),
        (
            {
                "resource_type": "model",
                "fqn": ["fjordbank", "marts", "marketing", "marketing_propensity_scores"],
            },
            "marketing",
            "Fjordbank ASA",
        ),
        ({"resource_type": "seed", "fqn": ["fjordbank", "scoring_scenarios"]}, "seeds", None),
    ],
)
def test_translator_helpers(props, group, company):
    assert group_for(props) == group
    if company:
        assert company_for(props) == company
        assert owners_for(props) == [team(company)]


def test_team_names_are_valid_dagster_owners():
    assert team("Fjordbank Asset Management AS") == "team:fjordbank_asset_management"
    dg.AssetSpec("x", owners=[team(c) for c in ("Fjordbank ASA", "Fjordbank Markets")])


def test_marketing_asset_shows_catalog_metadata(specs):
    """Column lineage from the catalog's engine (DIRECT and INDIRECT), the policy verdict and
    the link to the lineage page, on a marketing model."""
    spec = specs[dg.AssetKey(["marketing_scoring_features"])]
    lineage = spec.metadata["dagster/column_lineage"]
    deps = {
        (d.asset_key.to_user_string(), d.column_name)
        for d in lineage.deps_by_column["securities_value_band"]
    }
    # the value, through the consent-gated features ...
    assert ("int_person_features_joined", "securities_value_band") in deps
    # ... and the objection filter that decides which rows exist (INDIRECT)
    assert ("int_objections_pivoted", "objects_profiling") in deps
    typed = spec.metadata["fjordbank/column_lineage_types"].value
    assert (
        "| securities_value_band | int_person_features_joined.securities_value_band | DIRECT"
        in typed
    )
    assert "INDIRECT | FILTER" in typed or "INDIRECT | JOIN" in typed
    assert spec.metadata["fjordbank/policy_verdict"] == "pass"
    assert spec.metadata["fjordbank/lineage_page"].value.endswith(
        "lineage.html#marketing_scoring_features"
    )
    cols = {c.name: c for c in spec.metadata["dagster/column_schema"].columns}
    assert cols["securities_value_band"].tags["privacy/category"] == "user.financial.securities"
    assert spec.owners == [team("Fjordbank ASA")]


def test_the_daily_benchmarks_floor_is_the_run_before_any_person_level_model(definitions, specs):
    """bench/daily.py's floor row: the erasure step, every ingest asset, every staging model and
    the seed, and nothing built from them (no intermediate or mart model, so no row check);
    never the retention sweep, which build_everything leaves out."""
    from bench.daily import floor_selection

    floor = set(floor_selection(definitions))
    assert dg.AssetKey(["privacy_erasure"]) in floor
    assert dg.AssetKey(["retention_sweep"]) not in floor
    assert {dg.AssetKey([f"raw_{t.source}", t.name]) for t in TABLES} <= floor
    staging = {k for k in specs if k.path[-1].startswith("stg_")}
    assert len(staging) == 18 and staging <= floor
    assert dg.AssetKey(["scoring_scenarios"]) in floor
    assert {specs[k].group_name for k in floor} == {"landing", "staging", "seeds"}
    assert not {k for k in floor if k.path[-1].startswith(("int_", "marketing_"))}
    assert len(floor) == 1 + len(TABLES) + 18 + 1
