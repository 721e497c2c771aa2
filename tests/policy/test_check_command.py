"""``catalog check`` end to end on copies of the real dbt project.

The leaking models are added to one copy, compiled once for the session; each must be named
(model, column, restricted source) by the right rule. A second copy adds correctly gated
models and must pass with the real project (exit 0). Exit 2 is tested without dbt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalog.cli import main
from catalog.manifest import compile_project
from dagster_project.project import DBT_PROJECT_DIR
from tests.policy import leak_cases

INVEST = "no_unconsented_investments_in_marketing"
WEB = "no_web_behaviour_without_cookie_consent"
LIMIT = "purpose_limitation"
NID = "national_id_purpose"
HOLDINGS = "markets.securities_holdings"
FUNDS = "asset_management.fund_holdings"

# The persons of the neutral companies (no securities or fund data reach them), the consent and
# objection state (keyed from their event logs), the holdings.
IMPORTS = """
with persons as (select * from {{ ref('int_neutral_persons_matched') }}),
consents as (select * from {{ ref('int_group_sharing_consents_resolved') }}),
objections as (select * from {{ ref('int_objections_pivoted') }}),
holdings as (select * from {{ ref('stg_markets__securities_holdings') }}),
funds as (select * from {{ ref('stg_asset_management__fund_holdings') }})
"""
# Persons without a direct-marketing objection: a person without a current objection has no
# row in int_objections_pivoted, so the objectors are anti-joined away (a join clause, so it fits
# before further joins and a WHERE).
NOT_OBJECTING = (
    "anti join objections on objections.person_id = persons.person_id "
    "and objections.objects_direct_marketing"
)

# name -> (SQL, {column: harmless-looking category}, extra privacy meta, folder)
LEAKS: dict[str, tuple[str, dict[str, str]]] = {
    "leak_select_star": (
        "select * from {{ ref('stg_markets__securities_holdings') }}",
        {
            "custody_account_no": "user.unique_id",
            "isin": "user.demographic.profile",
            "as_of_date": "system.operations",
            "national_id": "user.unique_id",
            "instrument_name": "user.demographic.profile",
            "quantity": "user.demographic.profile",
            "market_value": "user.demographic.profile",
            "delivered_on": "system.operations",
        },
    ),
    "leak_renamed_cte": (
        IMPORTS + ", harmless as (select national_id, market_value as loyalty_points from holdings)"
        " select persons.person_id, harmless.loyalty_points from persons"
        " inner join harmless on harmless.national_id = persons.national_id " + NOT_OBJECTING,
        {"person_id": "user.unique_id", "loyalty_points": "user.demographic.profile"},
    ),
    "leak_union": (
        IMPORTS
        + " select persons.person_id, 0 as engagement from persons "
        + NOT_OBJECTING
        + " union all select persons.person_id, funds.units as engagement from persons"
        " inner join funds on funds.national_id = persons.national_id " + NOT_OBJECTING,
        {"person_id": "user.unique_id", "engagement": "user.demographic.profile"},
    ),
    "leak_join_pick": (
        IMPORTS + " select persons.person_id, persons.postcode from persons"
        " inner join holdings on holdings.national_id = persons.national_id"
        " and holdings.market_value > 100000 " + NOT_OBJECTING,
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
    ),
    "leak_in_subquery": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons "
        + NOT_OBJECTING
        + " where persons.national_id in (select national_id from holdings where quantity > 0)",
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
    ),
    "leak_exists": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons "
        + NOT_OBJECTING
        + " where exists (select 1 from holdings where holdings.national_id = persons.national_id"
        " and holdings.market_value > 0)",
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
    ),
    "leak_not_exists": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons "
        + NOT_OBJECTING
        + " where not exists (select 1 from funds where funds.national_id = persons.national_id"
        " and funds.units > 0)",
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
    ),
    "leak_case_segment": (
        IMPORTS + " select persons.person_id, case when holdings.market_value > 1000000"
        " then 'premium' else 'standard' end as segment from persons "
        + NOT_OBJECTING
        + " left join holdings on holdings.national_id = persons.national_id",
        {"person_id": "user.unique_id", "segment": "user.demographic.profile"},
    ),
    "leak_window_rank": (
        IMPORTS + " select persons.person_id,"
        " rank() over (order by holdings.market_value desc) as priority from persons "
        + NOT_OBJECTING
        + " left join holdings on holdings.national_id = persons.national_id",
        {"person_id": "user.unique_id", "priority": "user.demographic.profile"},
    ),
    "leak_group_having": (
        IMPORTS
        + " select persons.postcode, count(*) as customers from persons "
        + NOT_OBJECTING
        + " inner join holdings on holdings.national_id = persons.national_id"
        " group by persons.postcode having sum(holdings.market_value) > 1000000",
        {"postcode": "user.contact.address.postal_code", "customers": "system.operations"},
    ),
    "leak_scalar_subquery": (
        IMPORTS + " select persons.person_id, (select max(holdings.market_value) from holdings"
        " where holdings.national_id = persons.national_id) as top_position from persons "
        + NOT_OBJECTING,
        {"person_id": "user.unique_id", "top_position": "user.demographic.profile"},
    ),
    "leak_qualify": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons "
        + NOT_OBJECTING
        + " inner join holdings on holdings.national_id = persons.national_id qualify"
        " row_number() over (partition by persons.postcode order by holdings.market_value desc)"
        " = 1",
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
    ),
    "leak_via_ephemeral": (
        IMPORTS
        + " select persons.person_id, e.engagement_score from persons "
        + NOT_OBJECTING
        + " inner join {{ ref('int_leak_ephemeral') }} as e"
        " on e.national_id = persons.national_id",
        {"person_id": "user.unique_id", "engagement_score": "user.demographic.profile"},
    ),
    "leak_macro_join": (
        IMPORTS
        + " select persons.person_id, customer_value.quantity as affinity from persons "
        + NOT_OBJECTING
        + " {{ join_customer_value('persons') }}",
        {"person_id": "user.unique_id", "affinity": "user.demographic.profile"},
    ),
    "leak_via_fake_gate": (
        "select person_id, holding_value from {{ ref('int_leak_fake_gate') }}",
        {"person_id": "user.unique_id", "holding_value": "user.demographic.profile"},
    ),
    "leak_via_other_column_gate": (
        "select person_id, holding_value from {{ ref('int_leak_gate_on_other_column') }}",
        {"person_id": "user.unique_id", "holding_value": "user.demographic.profile"},
    ),
    "leak_via_union_gate": (
        "select person_id, holding_value from {{ ref('int_leak_union_gate') }}",
        {"person_id": "user.unique_id", "holding_value": "user.demographic.profile"},
    ),
    "leak_page_views": (
        IMPORTS + ", views as (select * from {{ ref('stg_web__page_views') }})"
        " select persons.person_id, count(views.view_id) as visits from persons "
        + NOT_OBJECTING
        + " left join views on views.national_id = persons.national_id group by persons.person_id",
        {"person_id": "user.unique_id", "visits": "user.demographic.profile"},
    ),
    "leak_default_cases": (
        IMPORTS + ", defaults as (select * from {{ ref('stg_risk__default_cases') }})"
        " select persons.person_id, case when defaults.case_no is not null then 'careful'"
        " else 'normal' end as tone from persons "
        + NOT_OBJECTING
        + " left join defaults on defaults.national_id = persons.national_id",
        {"person_id": "user.unique_id", "tone": "user.demographic.profile"},
    ),
    # A plain (unkeyed) hash of the identity number, labelled as an identifier.
    "leak_plain_hashed_national_id": (
        IMPORTS + " select persons.person_id, sha256(persons.national_id) as customer_key"
        " from persons " + NOT_OBJECTING,
        {"person_id": "user.unique_id", "customer_key": "user.unique_id"},
    ),
}

# model -> (rule, column, restricted source column that must be named)
EXPECTED = {
    "leak_select_star": (INVEST, "market_value", f"{HOLDINGS}.market_value"),
    "leak_renamed_cte": (INVEST, "loyalty_points", f"{HOLDINGS}.market_value"),
    "leak_union": (INVEST, "engagement", f"{FUNDS}.units"),
    "leak_join_pick": (INVEST, "postcode", f"{HOLDINGS}.market_value"),
    "leak_in_subquery": (INVEST, "postcode", f"{HOLDINGS}.quantity"),
    "leak_exists": (INVEST, "postcode", f"{HOLDINGS}.market_value"),
    "leak_not_exists": (INVEST, "postcode", f"{FUNDS}.units"),
    "leak_case_segment": (INVEST, "segment", f"{HOLDINGS}.market_value"),
    "leak_window_rank": (INVEST, "priority", f"{HOLDINGS}.market_value"),
    "leak_group_having": (INVEST, "postcode", f"{HOLDINGS}.market_value"),
    "leak_scalar_subquery": (INVEST, "top_position", f"{HOLDINGS}.market_value"),
    "leak_qualify": (INVEST, "postcode", f"{HOLDINGS}.market_value"),
    "leak_via_ephemeral": (INVEST, "engagement_score", f"{HOLDINGS}.market_value"),
    "leak_macro_join": (INVEST, "affinity", f"{HOLDINGS}.quantity"),
    "leak_via_fake_gate": (INVEST, "holding_value", f"{HOLDINGS}.market_value"),
    "leak_via_other_column_gate": (INVEST, "holding_value", f"{HOLDINGS}.market_value"),
    "leak_via_union_gate": (INVEST, "holding_value", f"{HOLDINGS}.market_value"),
    "leak_page_views": (WEB, "visits", "web.page_views.view_id"),
    "leak_default_cases": (LIMIT, "tone", "risk.default_cases.case_no"),
    "leak_plain_hashed_national_id": (NID, "customer_key", "bank.customers.national_id"),
}

HELPERS = {
    # An ephemeral model with harmless labels in between.
    "int_leak_ephemeral": (
        "{{ config(materialized='ephemeral') }} select national_id, market_value as"
        " engagement_score from {{ ref('stg_markets__securities_holdings') }}",
        {
            "national_id": "user.government_id.national_identification_number",
            "engagement_score": "user.demographic.profile",
        },
        {"purposes": ["analytics.reporting"]},
    ),
    # Declares the gate but merely LEFT JOINs the consents.
    "int_leak_fake_gate": (
        IMPORTS + " select persons.person_id, holdings.market_value as holding_value,"
        " consents.has_group_sharing_consent from persons"
        " inner join holdings on holdings.national_id = persons.national_id"
        " left join consents on consents.person_id = persons.person_id",
        {
            "person_id": "user.unique_id",
            "holding_value": "user.financial.securities",
            "has_group_sharing_consent": "user.privacy_preferences",
        },
        {"consent_gate": "group_sharing"},
    ),
    # Declares the gate but filters on when the consent changed, not on the consent.
    "int_leak_gate_on_other_column": (
        IMPORTS + " select persons.person_id, holdings.market_value as holding_value"
        " from persons inner join holdings on holdings.national_id = persons.national_id"
        " inner join consents on consents.person_id = persons.person_id"
        " where consents.consent_changed_at is not null",
        {"person_id": "user.unique_id", "holding_value": "user.financial.securities"},
        {"consent_gate": "group_sharing"},
    ),
    # Declares the gate and filters on the consent, but only in one branch of a UNION.
    "int_leak_union_gate": (
        IMPORTS + " select persons.person_id, holdings.market_value as holding_value"
        " from persons inner join holdings on holdings.national_id = persons.national_id"
        " inner join consents on consents.person_id = persons.person_id"
        " where consents.has_group_sharing_consent"
        " union all select persons.person_id, holdings.market_value from persons"
        " inner join holdings on holdings.national_id = persons.national_id",
        {"person_id": "user.unique_id", "holding_value": "user.financial.securities"},
        {"consent_gate": "group_sharing"},
    ),
}

MACRO = """
{% macro join_customer_value(persons_alias) -%}
    left join {{ ref('stg_markets__securities_holdings') }} as customer_value
        on customer_value.national_id = {{ persons_alias }}.national_id
{%- endmacro %}
"""

# Correctly gated marketing models: they must pass.
GOOD = {
    "good_row_gated": (
        IMPORTS + ", holdings_by_person as (select national_id, sum(market_value) as total"
        " from holdings group by national_id)"
        " select persons.person_id, {{ amount_band('holdings_by_person.total') }} as value_band"
        " from persons "
        + NOT_OBJECTING
        + " inner join consents on consents.person_id = persons.person_id"
        " inner join holdings_by_person on holdings_by_person.national_id = persons.national_id"
        " where consents.has_group_sharing_consent",
        {"person_id": "user.unique_id", "value_band": "user.financial.securities"},
        {"consent_gate": "group_sharing"},
    ),
    # The fund value is a scalar subquery in the CASE: one value per person, so the fund
    # holdings (restricted by source, keys included) cannot shape the rows. A LEFT JOIN with a
    # grouped CTE of them would: lineage cannot show that its key is unique, and a join that
    # multiplied the rows would tell how many holdings a person has.
    "good_case_gated": (
        IMPORTS + " select persons.person_id, case when consents.has_group_sharing_consent"
        " then (select {{ amount_band('sum(funds.units)') }} from funds"
        " where funds.national_id = persons.national_id and funds.units > 0) end as fund_band"
        " from persons "
        + NOT_OBJECTING
        + " left join consents on consents.person_id = persons.person_id",
        {"person_id": "user.unique_id", "fund_band": "user.financial.funds"},
        {"consent_gate": "group_sharing"},
    ),
    # A keyed hash of the identity number (and any hash over it) hides the number.
    "keyed_customer_key": (
        IMPORTS + " select persons.person_id,"
        " md5({{ keyed_hash('persons.national_id') }}) as customer_key from persons "
        + NOT_OBJECTING,
        {"person_id": "user.unique_id", "customer_key": "user.unique_id"},
    ),
}

# Cases of the other areas (tests/policy/leak_cases/*.py), merged; a name may be used once.
REFUTED_GATES = {"int_leak_fake_gate", "int_leak_gate_on_other_column", "int_leak_union_gate"}
for _module in leak_cases.modules():
    for _mine, _theirs in (
        (LEAKS, getattr(_module, "LEAKS", {})),
        (HELPERS, getattr(_module, "HELPERS", {})),
        (GOOD, getattr(_module, "GOOD", {})),
        (EXPECTED, getattr(_module, "EXPECTED", {})),
    ):
        _clash = set(_mine) & set(_theirs)
        assert not _clash, f"{_module.__name__} reuses case names {sorted(_clash)}"
        _mine.update(_theirs)
    REFUTED_GATES |= set(getattr(_module, "REFUTED_GATES", ()))

MARKETING_META = {
    "purposes": ["marketing.communications"],
    "legal_basis": "legitimate_interests",
    "retention": "P1D",
}


def copy_project(dst: Path) -> Path:
    shutil.copytree(
        DBT_PROJECT_DIR,
        dst,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    return dst


def add_models(project: Path, folder: str, models: dict) -> None:
    """Write each model's SQL and one YAML per folder declaring their (harmless-looking) tags.

    A spec is (SQL, {column: category}[, extra privacy meta[, {"folder": ...}]]): the fourth
    element puts the model in another folder below ``models/`` than ``folder``.
    """
    entries: dict[str, list[dict]] = {}
    for name, spec in models.items():
        sql, columns = spec[0], spec[1]
        meta = {**MARKETING_META, **(spec[2] if len(spec) > 2 else {})}
        place = spec[3].get("folder", folder) if len(spec) > 3 else folder
        where = project / "models" / place
        where.mkdir(parents=True, exist_ok=True)
        (where / f"{name}.sql").write_text(sql + "\n")
        entries.setdefault(place, []).append(
            {
                "name": name,
                "config": {"meta": {"privacy": meta}},
                "columns": [
                    {"name": c, "config": {"meta": {"privacy": {"category": cat}}}}
                    for c, cat in columns.items()
                ],
            }
        )
    for place, models_here in entries.items():
        (project / "models" / place / f"_{place.replace('/', '_')}__models.yml").write_text(
            yaml.safe_dump({"version": 2, "models": models_here}, sort_keys=False)
        )


def run_check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def leaky_manifest(tmp_path_factory) -> tuple[Path, Path]:
    project = copy_project(tmp_path_factory.mktemp("leaky") / "dbt")
    add_models(project, "marts/marketing/leaks", LEAKS)
    add_models(project, "intermediate/leaks", HELPERS)
    (project / "macros" / "leak_macros.sql").write_text(MACRO)
    target = project / "target"
    compile_project(project, target_path=target)
    return project, target / "manifest.json"


@pytest.fixture(scope="session")
def leaky_report(leaky_manifest) -> tuple[int, dict]:
    project, manifest = leaky_manifest
    code, out = run_check(
        "--project-dir", str(project), "--manifest", str(manifest), "--format", "json"
    )
    return code, json.loads(out)


@pytest.mark.slow
def test_leaking_models_exit_1(leaky_report):
    code, report = leaky_report
    assert code == 1
    assert set(report) == {"violations", "models_checked", "columns_checked"}
    assert report["models_checked"] > 50 and report["columns_checked"] > 500


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_each_leak_is_named_with_column_and_restricted_source(leaky_report, model):
    _, report = leaky_report
    rule, column, source = EXPECTED[model]
    hits = [
        v
        for v in report["violations"]
        if (v["rule"], v["model"], v["column"]) == (rule, model, column)
    ]
    assert hits, f"{model}.{column} not reported by {rule}"
    assert source in hits[0]["sources"], hits[0]
    assert set(hits[0]) == {"rule", "model", "column", "sources", "path", "message"}


@pytest.mark.slow
def test_leak_paths_name_the_models_in_between(leaky_report):
    _, report = leaky_report
    by_key = {(v["rule"], v["model"], v["column"]): v for v in report["violations"]}
    via_ephemeral = by_key[(INVEST, "leak_via_ephemeral", "engagement_score")]
    path = via_ephemeral["path"]
    assert path[0].startswith("stg_markets__securities_holdings.")
    assert any(step.startswith("int_leak_ephemeral.") for step in path)


@pytest.mark.slow
def test_a_plain_hash_does_not_hide_the_national_id(leaky_report):
    _, report = leaky_report
    (hit,) = [
        v
        for v in report["violations"]
        if (v["model"], v["column"]) == ("leak_plain_hashed_national_id", "customer_key")
    ]
    assert hit["rule"] == NID
    assert "a plain hash does not hide it" in hit["message"]
    assert "keyed_hash" in hit["message"]


@pytest.mark.slow
def test_fake_gates_are_refuted(leaky_report):
    _, report = leaky_report
    refuted = {
        v["model"]: v["message"]
        for v in report["violations"]
        if v["rule"] == INVEST and v["column"] is None
    }
    assert set(refuted) == REFUTED_GATES
    assert all("is not a gate" in m for m in refuted.values())


@pytest.mark.slow
def test_only_the_added_models_violate(leaky_report):
    _, report = leaky_report
    added = {*LEAKS, *HELPERS}
    assert {v["model"] for v in report["violations"]} <= added


@pytest.mark.slow
def test_project_with_correctly_gated_models_passes(tmp_path):
    """The real project plus gated marketing models: compiled by the command itself."""
    project = copy_project(tmp_path / "dbt")
    add_models(project, "marts/marketing/gated", GOOD)
    code, out = run_check("--project-dir", str(project))
    assert code == 0, out
    assert out.startswith("privacy policy holds (")


@pytest.mark.slow
def test_single_leak_text_output(tmp_path):
    project = copy_project(tmp_path / "dbt")
    add_models(project, "marts/marketing/leak", {"leak_case_segment": LEAKS["leak_case_segment"]})
    code, out = run_check("--project-dir", str(project))
    assert code == 1
    lines = out.strip().splitlines()
    line = next(x for x in lines if x.startswith(f"[{INVEST}] leak_case_segment.segment:"))
    assert (
        f"{HOLDINGS}.market_value" in line and "-[CONDITIONAL]-> leak_case_segment.segment" in line
    )
    # segment (the CASE) and person_id (a LEFT JOIN on holdings can multiply its rows)
    assert lines[-1].startswith("2 violation(s) of the privacy policy in 1 node(s)")
    assert len(lines) == 3


# -- exit 2: the check could not run (no dbt needed) -------------------------------------------


def tiny_manifest(tmp_path: Path, sql: str) -> Path:
    source = {
        "unique_id": "source.p.bank.customers",
        "name": "customers",
        "resource_type": "source",
        "source_name": "bank",
        "database": "warehouse",
        "schema": "raw_bank",
        "identifier": "customers",
        "columns": {"postcode": {"name": "postcode"}},
    }
    model = {
        "unique_id": "model.p.broken",
        "name": "broken",
        "resource_type": "model",
        "database": "warehouse",
        "schema": "main",
        "alias": "broken",
        "language": "sql",
        "config": {"materialized": "table"},
        "compiled_code": sql,
        "depends_on": {"nodes": ["source.p.bank.customers"]},
        "original_file_path": "models/marts/broken.sql",
        "columns": {},
    }
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "metadata": {"project_name": "p", "adapter_type": "duckdb"},
                "nodes": {"model.p.broken": model},
                "sources": {"source.p.bank.customers": source},
            }
        )
    )
    return path


def test_sql_that_does_not_parse_exits_2(tmp_path):
    manifest = tiny_manifest(tmp_path, "select postcode from from warehouse.raw_bank.customers")
    code, out = run_check("--manifest", str(manifest), "--format", "json")
    assert code == 2
    assert json.loads(out.splitlines()[0])["error"].startswith("broken:")


def test_bad_policy_configuration_exits_2(tmp_path):
    manifest = tiny_manifest(tmp_path, "select postcode from warehouse.raw_bank.customers")
    policy = tmp_path / "policy.yml"
    policy.write_text("marketing:\n  purpose: marketing.nonsense\n")
    code, out = run_check("--manifest", str(manifest), "--policy", str(policy))
    assert code == 2
    assert "policy.yml: marketing.purpose: unknown data use 'marketing.nonsense'" in out
    assert len(out.strip().splitlines()) == 1


def test_configuration_that_does_not_fit_the_project_exits_2(tmp_path):
    """The default policy names privacy sources this one-table project does not have."""
    manifest = tiny_manifest(tmp_path, "select postcode from warehouse.raw_bank.customers")
    code, out = run_check("--manifest", str(manifest))
    assert code == 2 and "which is not in the project" in out


def test_missing_project_exits_2(tmp_path):
    code, out = run_check("--project-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "dbt_project.yml missing" in out
