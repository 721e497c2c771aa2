"""Each rule on small hand-built graphs (no dbt): what passes, what fails, and why."""

from __future__ import annotations

from dataclasses import replace

import pytest
from policy_world import MARKETING, World, consent_state, objection_state

from catalog.lineage.graph import Subtype
from catalog.policy import (
    PolicyConfigError,
    PolicyError,
    evaluate,
    objection_scopes,
    parse_policy_config,
    proven_gates,
    restricted_columns,
)

INVEST = "no_unconsented_investments_in_marketing"
WEB = "no_web_behaviour_without_cookie_consent"

# -- building blocks --------------------------------------------------------------------------


def holdings_staging(w: World) -> World:
    w.model(
        "stg_holdings",
        {"person_id": "user.unique_id", "market_value": "user.financial.securities"},
        folder="staging/markets",
        purposes=["essential.service"],
        legal_basis="contract",
    )
    w.direct(
        "markets.securities_holdings.national_id",
        "stg_holdings.person_id",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    w.direct("markets.securities_holdings.market_value", "stg_holdings.market_value")
    return w


def persons(w: World) -> World:
    w.model(
        "int_persons",
        {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"},
        folder="intermediate/persons",
        purposes=["essential.service.customer_administration", *MARKETING],
    )
    w.direct(
        "bank.customers.national_id",
        "int_persons.person_id",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    w.direct("bank.customers.postcode", "int_persons.postcode")
    return w


def honour(w: World, model: str, *scopes: str) -> World:
    """``model`` keeps only persons not objecting to ``scopes`` (inner join + WHERE)."""
    for s in scopes:
        w.dataset(f"int_objections.objects_{s}", model, Subtype.FILTER, restricts=True)
    w.dataset("int_objections.person_id", model, Subtype.JOIN, restricts=True)
    return w


@pytest.fixture
def base(world: World) -> World:
    """Sources, the staged holdings, persons, consent and objection state."""
    consent_state(world)
    objection_state(world)
    holdings_staging(world)
    persons(world)
    return world


def marketing(w: World, name: str = "offers", cols: dict | None = None) -> str:
    cols = cols or {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"}
    uid = w.model(name, cols, purposes=MARKETING)
    w.direct("int_persons.person_id", f"{name}.person_id")
    if "postcode" in cols:
        w.direct("int_persons.postcode", f"{name}.postcode")
    honour(w, name, "direct_marketing", "profiling")
    return uid


def rules(w: World) -> set[tuple[str, str, str | None]]:
    return set(w.violations())


# -- a clean project ---------------------------------------------------------------------------


def test_clean_marketing_output_passes_every_rule(base: World):
    marketing(base)
    result = base.evaluate()
    assert result.ok, [v.to_text() for v in result.violations]
    assert result.models_checked == 5 and result.columns_checked > 30


# -- guarantee 3: securities / funds --------------------------------------------------------


def test_direct_copy_of_securities_is_named_with_source_and_path(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "band": "user.financial"})
    base.direct("stg_holdings.market_value", "offers.band", Subtype.TRANSFORMATION)
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert (v.model, v.column) == ("offers", "band")
    assert v.sources == ("markets.securities_holdings.market_value",)
    assert v.path == ("stg_holdings.market_value",)
    assert "stg_holdings.market_value -[DIRECT]-> offers.band" in v.message


@pytest.mark.parametrize(
    "subtype, restricts",
    [
        (Subtype.JOIN, True),  # an inner join used only to pick customers
        (Subtype.FILTER, True),  # IN / EXISTS / WHERE on holdings
        (Subtype.JOIN, False),  # even a LEFT join on holdings shapes every row
        (Subtype.GROUP_BY, False),
        (Subtype.SORT, False),
    ],
)
def test_dataset_level_use_of_securities_reaches_every_column(base: World, subtype, restricts):
    marketing(base)
    base.dataset("stg_holdings.market_value", "offers", subtype, restricts)
    found = {(v.model, v.column) for v in base.evaluate().violations if v.rule == INVEST}
    assert found == {("offers", "person_id"), ("offers", "postcode")}


@pytest.mark.parametrize("how", ["conditional", "window"])
def test_column_level_indirect_use_is_caught(base: World, how: str):
    marketing(base, cols={"person_id": "user.unique_id", "segment": "user.demographic.profile"})
    getattr(base, how)("stg_holdings.market_value", "offers.segment")
    assert (INVEST, "offers", "segment") in rules(base)
    assert (INVEST, "offers", "person_id") not in rules(base)


def test_harmless_labels_in_between_do_not_launder(base: World):
    """A chain of models labelled as neutral still carries the holdings."""
    base.model(
        "int_harmless",
        {"person_id": "user.unique_id", "tier": "user.financial.product_holding"},
        folder="intermediate/products",
    )
    base.direct("stg_holdings.person_id", "int_harmless.person_id")
    base.direct("stg_holdings.market_value", "int_harmless.tier", Subtype.AGGREGATION)
    marketing(base, cols={"person_id": "user.unique_id", "tier": "user.financial.product_holding"})
    base.direct("int_harmless.tier", "offers.tier")
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert v.column == "tier" and v.path == ("stg_holdings.market_value", "int_harmless.tier")


# The consent state from the event log: the latest event per person (ranked by event time).
CONSENT_STATE_SQL = """
with ranked as (
    select national_id, consent, row_number() over (
        partition by national_id order by event_time desc) as event_rank
    from privacy.group_sharing_consents
)
select fjordbank_hmac_sha256(national_id) as person_id, consent = 'granted' as has_consent
from ranked where event_rank = 1
"""
GATE_SQL = {
    "where": "select h.person_id, h.market_value as value_band, h.isin as instrument"
    " from stg_holdings as h inner join int_consent_state as c on c.person_id = h.person_id"
    " where c.has_consent",
    "case": "select p.person_id,"
    " case when c.has_consent then h.market_value end as value_band,"
    " case when c.has_consent then h.isin end as instrument"
    " from int_persons as p left join int_consent_state as c on c.person_id = p.person_id"
    " left join stg_holdings as h on h.person_id = p.person_id",
}


def consent_sql(w: World, sql: str = CONSENT_STATE_SQL) -> None:
    """Give int_consent_state its SQL (the gate proof reads it back to the consent source)."""
    uid = w.by_name["int_consent_state"]
    w.nodes[uid] = replace(w.nodes[uid], sql=sql)


def gate(w: World, how: str) -> str:
    """A consent gate between holdings and marketing, proven (or not) in different ways."""
    w.model(
        "int_investments_consented",
        {
            "person_id": "user.unique_id",
            "value_band": "user.financial.securities",
            "instrument": "user.financial.securities",
        },
        folder="intermediate/products",
        purposes=MARKETING,
        gate="group_sharing",
        sql=GATE_SQL.get(how, "select 1"),
    )
    consent_sql(w)
    # A CASE gate keeps every person (persons LEFT JOIN holdings): its person_id is the person's,
    # not the holder's, which is restricted by source (rule 3) like every holdings column.
    keys = "int_persons" if how in ("case", "case_partial") else "stg_holdings"
    w.direct(f"{keys}.person_id", "int_investments_consented.person_id")
    w.direct("stg_holdings.market_value", "int_investments_consented.value_band")
    w.direct("markets.securities_holdings.isin", "int_investments_consented.instrument")
    if how == "where":
        w.dataset(
            "int_consent_state.has_consent", "int_investments_consented", Subtype.FILTER, True
        )
    elif how == "left_join_only":
        w.dataset("int_consent_state.person_id", "int_investments_consented", Subtype.JOIN, False)
        w.direct("int_consent_state.has_consent", "int_investments_consented.value_band")
    elif how == "other_column":
        w.model(
            "int_consent_channel",
            {"person_id": "user.unique_id", "channel": "user.privacy_preferences"},
            folder="intermediate/privacy",
            purposes=["functional.storage.privacy_preferences"],
        )
        w.direct("privacy.group_sharing_consents.channel", "int_consent_channel.channel")
        w.direct(
            "privacy.group_sharing_consents.national_id",
            "int_consent_channel.person_id",
            Subtype.TRANSFORMATION,
            masking=True,
            keyed=True,
        )
        w.dataset("int_consent_channel.channel", "int_investments_consented", Subtype.FILTER, True)
    elif how in ("case", "case_partial"):
        # persons LEFT JOIN holdings; every restricted column is a CASE on the consent
        w.dataset("stg_holdings.person_id", "int_investments_consented", Subtype.JOIN, False)
        w.conditional("int_consent_state.has_consent", "int_investments_consented.value_band")
        if how == "case":
            w.conditional("int_consent_state.has_consent", "int_investments_consented.instrument")
    return "int_investments_consented"


def feed_marketing_from_gate(w: World) -> None:
    marketing(w, cols={"person_id": "user.unique_id", "value_band": "user.financial.securities"})
    w.direct("int_investments_consented.value_band", "offers.value_band")


@pytest.mark.parametrize("how, proof", [("where", "rows"), ("case", "columns")])
def test_proven_gate_clears_the_paths_through_it(base: World, how: str, proof: str):
    gate(base, how)
    feed_marketing_from_gate(base)
    result = base.evaluate()
    assert result.ok, [v.to_text() for v in result.violations]
    assert proven_gates(base.graph(), base.tags()) == {"int_investments_consented": proof}


@pytest.mark.parametrize("how", ["left_join_only", "other_column", "case_partial"])
def test_fake_gate_is_refuted_and_the_output_flagged(base: World, how: str):
    gate(base, how)
    feed_marketing_from_gate(base)
    found = [v for v in base.evaluate().violations if v.rule == INVEST]
    gate_v = [v for v in found if v.model == "int_investments_consented"]
    assert len(gate_v) == 1 and gate_v[0].column is None
    assert "declares consent_gate: group_sharing but is not a gate" in gate_v[0].message
    assert ("offers", "value_band") in {(v.model, v.column) for v in found}
    why = proven_gates(base.graph(), base.tags())["int_investments_consented"]
    assert why.startswith("not a gate")
    if how == "case_partial":
        assert "conditions instrument on it" in why


def test_consent_filter_without_declared_gate_does_not_clear(base: World):
    gate(base, "where")
    base.props[base.by_name["int_investments_consented"]]["config"]["meta"]["privacy"].pop(
        "consent_gate"
    )
    feed_marketing_from_gate(base)
    assert (INVEST, "offers", "value_band") in rules(base)


def test_path_around_a_proven_gate_is_still_a_violation(base: World):
    gate(base, "where")
    feed_marketing_from_gate(base)
    base.dataset("stg_holdings.market_value", "offers", Subtype.FILTER, True)
    found = {(v.model, v.column) for v in base.evaluate().violations if v.rule == INVEST}
    assert ("offers", "person_id") in found
    v = next(v for v in base.evaluate().violations if v.column == "person_id")
    assert "int_investments_consented" in v.message  # names the gate it bypassed


def test_funds_are_restricted_too(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "units": "user.financial"})
    base.direct("asset_management.fund_holdings.units", "offers.units", Subtype.AGGREGATION)
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert v.sources == ("asset_management.fund_holdings.units",)


# Rule 3 by source: every column of the markets and asset_management sources is restricted,
# whatever its category (PRIVACY.md: "not their values, and not the facts either").


def invest_hits(w: World) -> dict[tuple[str, str | None], tuple[str, ...]]:
    return {(v.model, v.column): v.sources for v in w.evaluate().violations if v.rule == INVEST}


def test_custody_account_numbers_are_restricted_by_source(base: World):
    """Tagged as a product holding (neutral for the register), still the securities unit's."""
    marketing(base, cols={"person_id": "user.unique_id", "accounts": "user.financial"})
    base.direct(
        "markets.securities_holdings.custody_account_no", "offers.accounts", Subtype.AGGREGATION
    )
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert (v.model, v.column) == ("offers", "accounts")
    assert v.sources == ("markets.securities_holdings.custody_account_no",)
    assert "markets.securities_holdings.custody_account_no -[DIRECT]-> offers.accounts" in (
        v.message
    )


def test_a_count_grouped_over_a_join_with_holdings_is_restricted(base: World):
    """select postcode, count(*) from persons join holdings on national_id group by postcode"""
    marketing(base, cols={"postcode": "user.contact.address.postal_code", "n": "system"})
    base.direct("int_persons.person_id", "offers.n", Subtype.AGGREGATION)
    base.dataset("markets.securities_holdings.national_id", "offers", Subtype.JOIN, True)
    base.dataset("int_persons.postcode", "offers", Subtype.GROUP_BY)
    hits = invest_hits(base)
    assert set(hits) == {("offers", "postcode"), ("offers", "n")}
    assert hits[("offers", "n")] == ("markets.securities_holdings.national_id",)


@pytest.mark.parametrize(
    "source",
    [
        "markets.securities_holdings.national_id",  # where exists (select 1 from holdings ...)
        "asset_management.fund_holdings.national_id",  # where not exists (... fund holdings)
    ],
)
def test_exists_or_not_exists_on_holdings_is_restricted(base: World, source: str):
    marketing(base)
    base.dataset(source, "offers", Subtype.FILTER, True)
    hits = invest_hits(base)
    assert set(hits) == {("offers", "person_id"), ("offers", "postcode")}
    assert all(srcs == (source,) for srcs in hits.values())


def test_string_agg_of_fund_codes_is_restricted(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "funds": "user.financial.product_holding"})
    base.direct("asset_management.fund_holdings.fund_code", "offers.funds", Subtype.AGGREGATION)
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert (v.model, v.column, v.sources) == (
        "offers",
        "funds",
        ("asset_management.fund_holdings.fund_code",),
    )


def test_the_registers_securities_customer_flag_needs_the_gate_in_marketing(base: World):
    """The register may say a person is a customer of the securities unit; a marketing output
    that takes the flag from the register is still reached by the source."""
    flag = {"is_markets_customer": "user.financial.product_holding"}
    register(base, {"person_id": "user.unique_id", **flag})
    base.direct("int_persons.person_id", "register.person_id")
    base.conditional(
        "markets.securities_holdings.custody_account_no", "register.is_markets_customer"
    )
    assert base.evaluate().ok  # customer administration: the register may hold the fact
    marketing(base, cols={"person_id": "user.unique_id", "investor": "user.financial"})
    base.direct("register.is_markets_customer", "offers.investor")
    [v] = [v for v in base.evaluate().violations if v.rule == INVEST]
    assert (v.model, v.column) == ("offers", "investor")
    assert v.sources == ("markets.securities_holdings.custody_account_no",)
    assert v.path == ("register.is_markets_customer",)


def test_a_source_fact_through_the_proven_gate_passes(base: World):
    """The benign twin: a securities fact that goes through the gate."""
    gate(base, "where")
    marketing(base, cols={"person_id": "user.unique_id", "is_investor": "user.financial"})
    base.conditional("int_investments_consented.person_id", "offers.is_investor")
    assert not invest_hits(base)


# -- guarantee 3: web behaviour ----------------------------------------------------------------


def test_page_views_need_the_cookie_gate(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "loan_views": "user.behavior"})
    base.direct("web.page_views.page_path", "offers.loan_views", Subtype.AGGREGATION)
    [v] = [v for v in base.evaluate().violations if v.rule == WEB]
    assert (v.model, v.column, v.sources) == ("offers", "loan_views", ("web.page_views.page_path",))


COOKIE_GATE_SQL = """
with ranked as (
    select visitor_id, marketing_cookies, row_number() over (
        partition by visitor_id order by event_time desc) as event_rank
    from privacy.cookie_consents
)
select v.visitor_id, v.page_path as loan_views
from web.page_views as v inner join ranked as r on r.visitor_id = v.visitor_id
where r.event_rank = 1 and {predicate}
"""


def cookie_gate(base: World, predicate: str) -> None:
    base.source(
        "privacy.cookie_consents",
        {
            "visitor_id": "user.device.cookie_id",
            "marketing_cookies": "user.privacy_preferences",
            "event_time": "user.privacy_preferences",
        },
    )
    base.model(
        "int_page_views_consented",
        {"visitor_id": "user.device.cookie_id", "loan_views": "user.behavior.browsing_history"},
        folder="intermediate/web",
        purposes=MARKETING,
        gate="marketing_cookies",
        sql=COOKIE_GATE_SQL.format(predicate=predicate),
    )
    base.direct("web.page_views.visitor_id", "int_page_views_consented.visitor_id")
    base.direct("web.page_views.page_path", "int_page_views_consented.loan_views")
    base.dataset(
        "privacy.cookie_consents.marketing_cookies",
        "int_page_views_consented",
        Subtype.FILTER,
        True,
    )
    marketing(base, cols={"person_id": "user.unique_id", "loan_views": "user.behavior"})
    base.direct("int_page_views_consented.loan_views", "offers.loan_views")


@pytest.mark.parametrize(
    "predicate",
    ["r.marketing_cookies", "r.marketing_cookies is true", "r.marketing_cookies = true"],
)
def test_page_views_through_a_proven_cookie_gate_pass(base: World, predicate: str):
    cookie_gate(base, predicate)
    assert not [v for v in base.evaluate().violations if v.rule == WEB]


def test_inverted_cookie_gate_is_refuted(base: World):
    cookie_gate(base, "not r.marketing_cookies")
    found = [v for v in base.evaluate().violations if v.rule == WEB]
    [refuted] = [v for v in found if v.model == "int_page_views_consented"]
    assert refuted.message.endswith(
        "is not a gate: its filter admits consent values other than true (false): "
        "where NOT r.marketing_cookies"
    )
    assert ("offers", "loan_views") in {(v.model, v.column) for v in found}


# -- guarantee 4: purpose limitation -------------------------------------------------------------


def test_default_cases_in_a_marketing_output(base: World):
    marketing(base)
    base.dataset("risk.default_cases.national_id", "offers", Subtype.JOIN, True)
    found = [v for v in base.evaluate().violations if v.rule == "purpose_limitation"]
    assert {v.column for v in found} == {"person_id", "postcode"}
    assert all(v.sources == ("risk.default_cases.national_id",) for v in found)


def test_a_default_flag_in_a_case_is_a_use(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "segment": "user.demographic.profile"})
    base.conditional("bank.loans.in_default", "offers.segment")
    assert ("purpose_limitation", "offers", "segment") in rules(base)


def test_purpose_bound_model_output_cannot_feed_marketing(base: World):
    base.model(
        "credit_exposure",
        {"person_id": "user.unique_id", "exposure": "user.financial.loan"},
        folder="marts/credit",
        purposes=["finance.credit_assessment"],
    )
    base.direct("int_persons.person_id", "credit_exposure.person_id")
    base.direct("bank.loans.outstanding", "credit_exposure.exposure", Subtype.AGGREGATION)
    marketing(base, cols={"person_id": "user.unique_id", "exposure": "user.financial.loan"})
    base.direct("credit_exposure.exposure", "offers.exposure")
    [v] = [v for v in base.evaluate().violations if v.rule == "purpose_limitation"]
    assert v.sources == ("credit_exposure.exposure",)


@pytest.mark.parametrize(
    "folder, purposes, outside",
    [
        ("marts/statistics", ["analytics.reporting.statistics"], "analytics.reporting.statistics"),
        ("marts/model_development", ["analytics.model_development"], "analytics.model_development"),
        (
            "marts/register",
            ["essential.service.customer_administration"],
            "essential.service.customer_administration",
        ),
        # A credit output that also serves marketing: only the marketing purpose is outside.
        (
            "marts/credit",
            ["finance.credit_assessment", "marketing.communications"],
            "marketing.communications",
        ),
    ],
)
def test_purpose_bound_data_stays_out_of_every_other_output(base: World, folder, purposes, outside):
    base.model(
        "out",
        {"person_id": "user.unique_id", "risk_band": "user.demographic.profile"},
        folder=folder,
        purposes=purposes,
    )
    base.direct("int_persons.person_id", "out.person_id")
    base.conditional("risk.default_cases.defaulted_amount", "out.risk_band")
    found = [v for v in base.evaluate().violations if v.rule == "purpose_limitation"]
    assert [(v.model, v.column) for v in found] == [("out", "risk_band")]
    assert found[0].sources == ("risk.default_cases.defaulted_amount",)
    assert f"purpose(s) {outside} outside the purpose-bound ones" in found[0].message
    assert "finance.credit_assessment outside" not in found[0].message


def test_an_output_serving_only_purpose_bound_purposes_may_use_the_data(base: World):
    """The credit mart: defaults and loans for credit assessment, nothing else."""
    base.model(
        "exposure",
        {"person_id": "user.unique_id", "defaulted": "user.financial.credit_history"},
        folder="marts/credit",
        purposes=["finance.credit_assessment"],
    )
    base.direct("int_persons.person_id", "exposure.person_id")
    base.direct("risk.default_cases.defaulted_amount", "exposure.defaulted", Subtype.AGGREGATION)
    base.dataset("bank.loans.in_default", "exposure", Subtype.FILTER, True)
    assert not [v for v in base.evaluate().violations if v.rule == "purpose_limitation"]


def test_an_output_without_purposes_cannot_show_it_stays_within_them(base: World):
    base.model("untagged", {"risk_band": "user.demographic.profile"}, purposes=[])
    base.conditional("risk.default_cases.defaulted_amount", "untagged.risk_band")
    [v] = [v for v in base.evaluate().violations if v.rule == "purpose_limitation"]
    assert v.column == "risk_band" and "declaring no purpose" in v.message


# -- guarantee 5: objections ---------------------------------------------------------------


def test_marketing_output_without_objection_filter(base: World):
    base.model("offers", {"person_id": "user.unique_id"}, purposes=MARKETING)
    base.direct("int_persons.person_id", "offers.person_id")
    found = {v.message.split("'")[1] for v in base.evaluate().violations}
    assert found == {"direct_marketing", "profiling"}


def test_each_required_scope_is_checked_separately(base: World):
    base.model("offers", {"person_id": "user.unique_id"}, purposes=MARKETING)
    base.direct("int_persons.person_id", "offers.person_id")
    honour(base, "offers", "direct_marketing")  # not profiling
    [v] = base.evaluate().violations
    assert v.rule == "objections_honoured" and "'profiling'" in v.message


def test_objections_are_inherited_from_the_models_rows_come_from(base: World):
    marketing(base, "scores")
    base.model("audience", {"person_id": "user.unique_id"}, purposes=MARKETING)
    base.direct("scores.person_id", "audience.person_id")
    assert base.evaluate().ok


def test_union_with_an_unfiltered_model_breaks_inheritance(base: World):
    marketing(base, "scores")
    base.model("audience", {"person_id": "user.unique_id"}, purposes=MARKETING)
    base.direct("scores.person_id", "audience.person_id")
    base.direct("int_persons.person_id", "audience.person_id")  # UNION ALL with everyone
    assert {v.model for v in base.evaluate().violations} == {"audience"}


def test_statistics_outputs_honour_statistics_objections(base: World):
    base.model(
        "stats",
        {"postcode": "user.contact.address.postal_code"},
        folder="marts/statistics",
        purposes=["analytics.reporting.statistics"],
    )
    base.direct("int_persons.postcode", "stats.postcode")
    [v] = base.evaluate().violations
    assert "'statistics'" in v.message
    honour(base, "stats", "statistics")
    assert base.evaluate().ok


def test_model_development_outputs_honour_model_development_objections(base: World):
    """analytics.model_development requires the model_development scope (policy.yml)."""
    base.model(
        "int_md_objections",
        {"person_id": "user.unique_id", "objects_model_development": "user.privacy_preferences"},
        folder="intermediate/privacy",
        purposes=["functional.storage.privacy_preferences"],
        legal_basis="legal_obligation",
        sql="select national_id as person_id, max(case when scope = 'model_development'"
        " then 1 else 0 end) = 1 as objects_model_development from objections group by 1",
    )
    base.direct(
        "privacy.objections.national_id",
        "int_md_objections.person_id",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    base.conditional("privacy.objections.scope", "int_md_objections.objects_model_development")
    base.model(
        "md_dataset",
        {"pseudonym": "user.unique_id.pseudonymous", "postcode": "user.contact"},
        folder="marts/model_development",
        purposes=["analytics.model_development"],
    )
    base.direct(
        "int_persons.person_id",
        "md_dataset.pseudonym",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    base.direct("int_persons.postcode", "md_dataset.postcode")
    # Filtered by the statistics objections only: the model-development scope is missing.
    honour(base, "md_dataset", "statistics")
    [v] = base.evaluate().violations
    assert (v.rule, v.model) == ("objections_honoured", "md_dataset")
    assert "'model_development'" in v.message and "analytics.model_development" in v.message
    base.dataset("int_md_objections.objects_model_development", "md_dataset", Subtype.FILTER, True)
    base.dataset("int_md_objections.person_id", "md_dataset", Subtype.JOIN, True)
    assert base.evaluate().ok


def test_objection_scope_must_be_named_in_sql(world: World):
    """A filter on an objection flag whose SQL names another scope does not honour this one."""
    consent_state(world)
    persons(world)
    world.model(
        "int_objectors",
        {"person_id": "user.unique_id"},
        folder="intermediate/privacy",
        purposes=["functional.storage.privacy_preferences"],
        sql="select national_id as person_id from objections where scope = 'statistics'",
    )
    world.direct("privacy.objections.national_id", "int_objectors.person_id")
    world.dataset("privacy.objections.scope", "int_objectors", Subtype.FILTER, True)
    world.model("offers", {"person_id": "user.unique_id"}, purposes=MARKETING)
    world.direct("int_persons.person_id", "offers.person_id")
    world.dataset("int_objectors.person_id", "offers", Subtype.FILTER, True)
    found = {v.message.split("'")[1] for v in world.evaluate().violations}
    assert found == {"direct_marketing", "profiling"}


# -- guarantee 2 ---------------------------------------------------------------------------------


def register(w: World, cols: dict) -> str:
    return w.model(
        "register",
        cols,
        folder="marts/register",
        purposes=["essential.service.customer_administration"],
    )


def test_register_of_neutral_data_passes(base: World):
    register(
        base,
        {
            "person_id": "user.unique_id",
            "national_id": "user.government_id.national_identification_number",
        },
    )
    base.direct("int_persons.person_id", "register.person_id")
    base.direct("bank.customers.national_id", "register.national_id")
    assert base.evaluate().ok


def test_register_filtered_on_a_default_flag_is_not_neutral(base: World):
    register(base, {"person_id": "user.unique_id"})
    base.direct("int_persons.person_id", "register.person_id")
    base.dataset("bank.loans.in_default", "register", Subtype.FILTER, True)
    [v] = [v for v in base.evaluate().violations if v.rule == "neutral_register"]
    assert v.sources == ("bank.loans.in_default",)
    assert "user.financial.credit_history" in v.message


def test_register_with_holdings_values_is_not_neutral(base: World):
    register(base, {"person_id": "user.unique_id", "wealth": "user.financial.product_holding"})
    base.direct("int_persons.person_id", "register.person_id")
    base.direct("stg_holdings.market_value", "register.wealth", Subtype.AGGREGATION)
    assert ("neutral_register", "register", "wealth") in rules(base)


def test_national_id_in_a_marketing_output(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "ref": "user.unique_id"})
    base.direct("bank.customers.national_id", "offers.ref")  # a plain copy, whatever its label
    [v] = [v for v in base.evaluate().violations if v.rule == "national_id_purpose"]
    assert (v.model, v.column, v.sources) == ("offers", "ref", ("bank.customers.national_id",))


def test_national_id_rule_concerns_the_value_not_joins_or_masks(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "birth": "user.demographic.date_of_birth"})
    base.dataset("bank.customers.national_id", "offers", Subtype.JOIN, True)
    base.direct("bank.customers.national_id", "offers.birth", Subtype.TRANSFORMATION)
    assert not [v for v in base.evaluate().violations if v.rule == "national_id_purpose"]


def test_a_plain_hash_of_the_national_id_is_still_the_number(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "customer_key": "user.unique_id"})
    base.direct(
        "bank.customers.national_id", "offers.customer_key", Subtype.TRANSFORMATION, masking=True
    )
    (v,) = [v for v in base.evaluate().violations if v.rule == "national_id_purpose"]
    assert (v.model, v.column) == ("offers", "customer_key")
    assert "a plain hash does not hide it" in v.message


def test_a_keyed_hash_hides_the_national_id(base: World):
    marketing(base, cols={"person_id": "user.unique_id", "customer_key": "user.unique_id"})
    base.direct(
        "bank.customers.national_id",
        "offers.customer_key",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    assert not [v for v in base.evaluate().violations if v.rule == "national_id_purpose"]


def test_transformed_national_id_still_tagged_as_such_is_the_number(base: World):
    marketing(
        base,
        cols={
            "person_id": "user.unique_id",
            "nid": "user.government_id.national_identification_number",
        },
    )
    base.direct("bank.customers.national_id", "offers.nid", Subtype.AGGREGATION)
    assert ("national_id_purpose", "offers", "nid") in rules(base)


# -- guarantee 1 and 6 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag, expected",
    [
        (None, "is not declared in the YAML"),
        ({}, "has no privacy category"),
        ({"category": "user.financial.bitcoin"}, "unknown category user.financial.bitcoin"),
        (
            {"category": "user.name", "purposes": ["marketing.spam"]},
            "unknown purpose marketing.spam",
        ),
        ({"category": "user.name", "legal_basis": "because"}, "unknown legal basis because"),
        ({"category": "user.health_and_medical"}, "needs an Art. 9(2) ground"),
        ({"category": "user.name", "retention": "10 years"}, "not an ISO 8601 duration"),
        ({"category": "user.name", "catgory": "x"}, "unknown privacy key(s) catgory"),
    ],
)
def test_every_column_tagged(base: World, tag, expected):
    uid = marketing(base)
    cols = base.props[uid]["columns"]
    if tag is None:
        del cols["postcode"]
    else:
        cols["postcode"] = {"config": {"meta": {"privacy": tag}}}
    [v] = [v for v in base.evaluate().violations if v.rule == "every_column_tagged"]
    assert (v.model, v.column) == ("offers", "postcode") and expected in v.message


def test_art9_ground_satisfies_special_category(base: World):
    uid = marketing(base)
    base.props[uid]["columns"]["postcode"] = {
        "config": {
            "meta": {
                "privacy": {
                    "category": "user.health_and_medical",
                    "art9_ground": "explicit_consent",
                }
            }
        }
    }
    assert not [v for v in base.evaluate().violations if v.rule == "every_column_tagged"]


def test_unknown_consent_gate_name(base: World):
    uid = marketing(base)
    base.props[uid]["config"]["meta"]["privacy"]["consent_gate"] = "group_shareing"
    [v] = [v for v in base.evaluate().violations if v.rule == "every_column_tagged"]
    assert v.column is None and "group_shareing" in v.message


def test_python_asset_without_column_lineage_fails_closed(base: World):
    base.model(
        "scores_asset",
        {"score": "user.demographic.profile"},
        purposes=MARKETING,
        resource_type="asset",
        sql=None,
        depends_on=["int_persons"],
    )
    found = [v for v in base.evaluate().violations if v.rule == "fail_closed"]
    assert [(v.model, v.column) for v in found] == [("scores_asset", None)]
    assert "declares no column lineage" in found[0].message


def test_model_without_sql_fails_closed(base: World):
    base.model("python_model", {"x": "user.name"}, sql=None)
    assert ("fail_closed", "python_model", None) in rules(base)


def test_lineage_from_an_unknown_column_fails_closed(base: World):
    marketing(base)
    base.direct("int_persons.nickname", "offers.postcode")  # int_persons has no such column
    found = [v for v in base.evaluate().violations if v.rule == "fail_closed"]
    assert [(v.model, v.column) for v in found] == [("offers", "postcode")]
    assert "model.fjordbank.int_persons.nickname" in found[0].message


def test_lineage_with_a_cycle_cannot_be_judged(base: World):
    marketing(base)
    base.direct("offers.postcode", "int_persons.postcode")
    with pytest.raises(PolicyError, match=r"cycle \(.*offers.*\); the policy needs a DAG"):
        base.evaluate()


# -- configuration and the row-check API ----------------------------------------------------------


def test_configuration_naming_a_missing_source_cannot_run(base: World):
    cfg = parse_policy_config(
        {"consent_gates": {"group_sharing": {"consent_column": "privacy.nope.consent"}}}
    )
    with pytest.raises(PolicyConfigError, match=r"privacy\.nope"):
        evaluate(base.graph(), base.tags(), cfg)


def test_configuration_with_unknown_taxonomy_key_is_rejected():
    with pytest.raises(PolicyConfigError, match=r"user\.financial\.crypto"):
        parse_policy_config({"purpose_limitation": {"categories": ["user.financial.crypto"]}})


def test_restricted_columns_lists_values_not_mixtures(base: World):
    gate(base, "where")
    cols = {
        "person_id": "user.unique_id",
        "postcode": "user.contact.address.postal_code",
        "value_band": "user.financial.securities",
        "segment": "user.demographic.profile",
        "score": "user.demographic.profile",
    }
    marketing(base, cols=cols)
    base.direct("int_investments_consented.value_band", "offers.value_band")
    base.conditional("int_investments_consented.value_band", "offers.segment")
    base.direct("int_investments_consented.value_band", "offers.score", Subtype.TRANSFORMATION)
    base.direct("int_persons.postcode", "offers.score", Subtype.TRANSFORMATION)
    assert base.evaluate().ok
    assert restricted_columns(base.graph(), base.tags()) == {
        "offers": {
            "value_band": {"user.financial.securities"},
            "segment": {"user.financial.securities"},
        }
    }


def test_objection_scopes_per_output(base: World):
    marketing(base)
    base.model(
        "stats",
        {"n": "system.operations"},
        folder="marts/statistics",
        purposes=["analytics.reporting.statistics"],
    )
    assert objection_scopes(base.graph(), base.tags()) == {
        "offers": {"direct_marketing", "profiling"},
        "stats": {"statistics"},
    }


# -- guarantee 3: the gate's predicate admits the granting value of the latest event only -------


def gate_with(w: World, where: str, *, join: str = "inner join") -> str:
    """The row gate of ``gate(w, "where")`` with another predicate (and join)."""
    gate(w, "where")
    uid = w.by_name["int_investments_consented"]
    sql = GATE_SQL["where"].replace("inner join", join).replace("c.has_consent", where)
    w.nodes[uid] = replace(w.nodes[uid], sql=sql)
    feed_marketing_from_gate(w)
    return uid


def gate_verdict(w: World) -> str:
    return proven_gates(w.graph(), w.tags())["int_investments_consented"]


@pytest.mark.parametrize(
    "where",
    [
        "c.has_consent",
        "c.has_consent = true",
        "c.has_consent is true",
        "c.has_consent in (true)",
        "coalesce(c.has_consent, false)",
        "case when c.has_consent then true else false end",
        "c.has_consent and h.market_value > 0",  # a conjunct on other data restricts further
        "exists (select 1 from int_consent_state as k"
        " where k.person_id = h.person_id and k.has_consent)",
        "h.person_id in (select person_id from int_consent_state where has_consent)",
    ],
)
def test_gate_admitting_the_granting_value_only_is_proven(base: World, where: str):
    gate_with(base, where)
    assert gate_verdict(base) == "rows"
    assert base.evaluate().ok


@pytest.mark.parametrize(
    "where, join, admitted",
    [
        ("not c.has_consent", "inner join", "('withdrawn', any other value)"),
        ("c.has_consent is not true", "inner join", "('withdrawn', any other value, no event)"),
        ("c.has_consent is null", "left join", "('withdrawn', any other value, no event)"),
        ("c.has_consent or h.market_value > 0", "inner join", "('withdrawn', "),
        ("coalesce(c.has_consent, true)", "inner join", "(no event)"),
        ("h.person_id not in (select person_id from int_consent_state where has_consent)",
         "inner join", "('withdrawn', "),
    ],
)  # fmt: skip
def test_gate_admitting_other_consent_values_is_refuted(base: World, where, join, admitted):
    gate_with(base, where, join=join)
    why = gate_verdict(base)
    assert why.startswith(
        f"not a gate: its filter admits consent values other than 'granted' {admitted}"
    ), why
    assert ": where " in why and "has_consent" in why.lower()
    found = {(v.model, v.column) for v in base.evaluate().violations if v.rule == INVEST}
    assert {("int_investments_consented", None), ("offers", "value_band")} <= found


@pytest.mark.parametrize(
    "state, why",
    [
        (  # an aggregate over all events: a later withdrawal does not count
            "select fjordbank_hmac_sha256(national_id) as person_id,"
            " bool_or(consent = 'granted') as has_consent"
            " from privacy.group_sharing_consents group by national_id",
            "its consent value is an aggregate over all consent events, not the latest event "
            "per person: BOOL_OR(",
        ),
        (  # every event, none selected
            "select fjordbank_hmac_sha256(national_id) as person_id,"
            " consent = 'granted' as has_consent from privacy.group_sharing_consents",
            "its filter compares the consent of single events, not the latest event per person",
        ),
        (  # the latest event of each channel
            CONSENT_STATE_SQL.replace("partition by national_id", "partition by channel"),
            "(the ranking is not partitioned by the person key national_id)",
        ),
        (  # the first event, not the latest
            CONSENT_STATE_SQL.replace("event_time desc", "event_time asc"),
            "(the ranking is not ordered by event_time descending first)",
        ),
        (  # the latest granting event: ranked after the filter
            CONSENT_STATE_SQL.replace(
                "from privacy.group_sharing_consents",
                "from privacy.group_sharing_consents where consent = 'granted'",
            ),
            "(it ranks only the events where consent = 'granted')",
        ),
    ],
)
def test_consent_not_of_the_latest_event_is_refuted(base: World, state: str, why: str):
    gate_with(base, "c.has_consent")
    consent_sql(base, state)
    verdict = gate_verdict(base)
    assert verdict.startswith("not a gate: ") and why in verdict, verdict


@pytest.mark.parametrize(
    "state",
    [
        "select fjordbank_hmac_sha256(national_id) as person_id,"
        " arg_max(consent, event_time) = 'granted' as has_consent"
        " from privacy.group_sharing_consents group by national_id",
        "with latest as (select national_id, max(event_time) as event_time"
        " from privacy.group_sharing_consents group by national_id)"
        " select fjordbank_hmac_sha256(e.national_id) as person_id,"
        " e.consent = 'granted' as has_consent from privacy.group_sharing_consents as e"
        " inner join latest on latest.national_id = e.national_id"
        " and latest.event_time = e.event_time",
        CONSENT_STATE_SQL.replace(
            "from ranked where event_rank = 1", "from ranked where event_rank = 1"
        ).replace("row_number()", "rank()"),
        "select fjordbank_hmac_sha256(national_id) as person_id,"
        " consent in ('granted') as has_consent from privacy.group_sharing_consents"
        " qualify row_number() over (partition by national_id order by event_time desc) = 1",
    ],
    ids=["arg_max", "join_on_max_time", "rank", "qualify"],
)
def test_other_ways_to_select_the_latest_event_are_proven(base: World, state: str):
    gate_with(base, "c.has_consent")
    consent_sql(base, state)
    assert gate_verdict(base) == "rows"


def test_consent_filter_on_another_column_of_the_latest_event_is_refuted(base: World):
    gate_with(base, "c.channel = 'online_bank'")
    consent_sql(base, CONSENT_STATE_SQL.replace("as has_consent", "as has_consent, channel"))
    base.nodes[base.by_name["int_consent_state"]] = replace(
        base.nodes[base.by_name["int_consent_state"]],
        columns=("person_id", "has_consent", "channel"),
    )
    base.direct("privacy.group_sharing_consents.channel", "int_consent_state.channel")
    base.dataset("int_consent_state.channel", "int_investments_consented", Subtype.FILTER, True)
    # the consent ranks the events (a FILTER edge from it), but the filter is on the channel
    base.dataset(
        "privacy.group_sharing_consents.consent", "int_investments_consented", Subtype.FILTER, True
    )
    verdict = gate_verdict(base)
    assert verdict.startswith(
        "not a gate: its filter does not compare the value of "
        "privacy.group_sharing_consents.consent"
    ), verdict


def test_case_gate_passing_data_without_consent_is_refuted(base: World):
    gate(base, "case")
    uid = base.by_name["int_investments_consented"]
    sql = GATE_SQL["case"].replace(
        "when c.has_consent then h.market_value", "when not c.has_consent then h.market_value"
    )
    base.nodes[uid] = replace(base.nodes[uid], sql=sql)
    feed_marketing_from_gate(base)
    assert gate_verdict(base) == (
        "not a gate: value_band passes its data for consent values other than 'granted' "
        "('withdrawn', any other value)"
    )


@pytest.mark.parametrize(
    "sql, why",
    [
        ("select from where", "does not parse as a query"),
        (
            "select h.person_id, h.market_value as value_band, h.isin as instrument"
            " from stg_holdings as h, int_consent_state as c, int_consent_state as d"
            " where has_consent",
            "column has_consent is ambiguous",
        ),
    ],
)
def test_gate_sql_that_cannot_be_analysed_fails_closed(base: World, sql: str, why: str):
    gate_with(base, "c.has_consent")
    uid = base.by_name["int_investments_consented"]
    base.nodes[uid] = replace(base.nodes[uid], sql=sql)
    verdict = gate_verdict(base)
    assert verdict.startswith("not a gate: cannot prove which consent values it admits: ")
    assert why in verdict


def test_gate_value_domain_is_configured():
    cfg = parse_policy_config(
        {
            "consent_gates": {
                "group_sharing": {
                    "consent_column": "privacy.group_sharing_consents.consent",
                    "granting_value": "granted",
                    "values": ["granted", "withdrawn"],
                    "subject_column": "national_id",
                    "event_time_column": "event_time",
                }
            }
        }
    )
    g = cfg.consent_gates["group_sharing"]
    assert (g.granting_value, g.values, g.subject_column, g.event_time_column) == (
        "granted",
        ("granted", "withdrawn"),
        "national_id",
        "event_time",
    )
    with pytest.raises(PolicyConfigError, match="granting_value: expected a string or true"):
        parse_policy_config(
            {"consent_gates": {"g": {"consent_column": "a.b.c", "granting_value": 1}}}
        )
