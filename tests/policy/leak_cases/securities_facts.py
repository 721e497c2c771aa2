"""Rule 3 by source: facts about securities and funds, not only their values, need the
group-sharing consent gate in marketing (PRIVACY.md: "not their values, and not the facts
either"). Every column of the ``markets`` and ``asset_management`` sources is restricted,
whatever its category: each leak below labels its columns harmlessly and reads no value column
(no market value, units or quantity), so only the restriction by source can name it. The
benign twins take the same kind of fact through the gate ``int_investments_consented``, or use
the neutral population alone. One more case guards the objection filter in the shape the
marketing models now use (a LEFT JOIN of the objection state, filtered in the WHERE).
"""

from __future__ import annotations

INVEST = "no_unconsented_investments_in_marketing"
OBJECTIONS = "objections_honoured"
HOLDINGS = "markets.securities_holdings"
ACCOUNTS = "markets.securities_accounts"
FUNDS = "asset_management.fund_holdings"

IMPORTS = """
with persons as (select * from {{ ref('int_neutral_persons_matched') }}),
objections as (select * from {{ ref('int_objections_pivoted') }}),
holdings as (select * from {{ ref('stg_markets__securities_holdings') }}),
accounts as (select * from {{ ref('stg_markets__securities_accounts') }}),
funds as (select * from {{ ref('stg_asset_management__fund_holdings') }})
"""
# Persons without a direct-marketing objection (persons without one have no objections row).
LEFT_JOIN_OBJECTIONS = " left join objections on objections.person_id = persons.person_id"
NOT_OBJECTING = " not coalesce(objections.objects_direct_marketing, false)"
PERSON = {"person_id": "user.unique_id", "postcode": "user.contact.address.postal_code"}

LEAKS = {
    # Who holds securities at all: no value read, only that a holding exists.
    "leak_exists_any_holding": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING
        + " and exists (select 1 from holdings where holdings.national_id = persons.national_id)",
        PERSON,
    ),
    # Everyone who holds no funds: the complement is the same fact.
    "leak_not_exists_fund_holding": (
        IMPORTS
        + " select persons.person_id, persons.postcode from persons"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING
        + " and not exists (select 1 from funds where funds.national_id = persons.national_id)",
        PERSON,
    ),
    # How many custody-account holders per postcode: a count grouped over a join.
    "leak_count_over_accounts_join": (
        IMPORTS + " select persons.postcode, count(*) as customers from persons"
        " inner join accounts on accounts.national_id = persons.national_id"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING
        + " group by persons.postcode",
        {"postcode": "user.contact.address.postal_code", "customers": "system.operations"},
    ),
    # How many positions a person has (the custody accounts counted per person).
    "leak_position_count": (
        IMPORTS + " select persons.person_id, count(holdings.custody_account_no) as engagement"
        " from persons inner join holdings on holdings.national_id = persons.national_id"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING
        + " group by persons.person_id",
        {"person_id": "user.unique_id", "engagement": "system.operations"},
    ),
    # Which funds a person holds, as a list of codes labelled a product holding.
    "leak_fund_code_list": (
        IMPORTS + " select persons.person_id, string_agg(funds.fund_code, ',') as products"
        " from persons inner join funds on funds.national_id = persons.national_id"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING
        + " group by persons.person_id",
        {"person_id": "user.unique_id", "products": "user.financial.product_holding"},
    ),
    # A custody account number labelled as a harmless customer reference.
    "leak_custody_account_no": (
        IMPORTS + " select persons.person_id, accounts.custody_account_no as customer_ref"
        " from persons inner join accounts on accounts.national_id = persons.national_id"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING,
        {"person_id": "user.unique_id", "customer_ref": "user.unique_id"},
    ),
    # The register may say who is a Markets customer; marketing may not copy it from there.
    "leak_register_markets_flag": (
        "with register as (select * from {{ ref('group_customer_register') }}),"
        " objections as (select * from {{ ref('int_objections_pivoted') }})"
        " select register.person_id, register.is_markets_customer as investor from register"
        " left join objections on objections.person_id = register.person_id"
        " where" + NOT_OBJECTING,
        {"person_id": "user.unique_id", "investor": "user.financial.product_holding"},
    ),
    # Rule 5 with the objection state keyed from its log: a LEFT JOIN that puts the condition in
    # its ON clause keeps every person, objectors included (the filter belongs in the WHERE).
    "leak_objection_in_left_join_on": (
        IMPORTS + " select persons.person_id, persons.postcode from persons"
        " left join objections on objections.person_id = persons.person_id"
        " and not objections.objects_direct_marketing",
        PERSON,
    ),
}

# model -> (rule, column, restricted source column that must be named)
EXPECTED = {
    "leak_exists_any_holding": (INVEST, "postcode", f"{HOLDINGS}.national_id"),
    "leak_not_exists_fund_holding": (INVEST, "postcode", f"{FUNDS}.national_id"),
    "leak_count_over_accounts_join": (INVEST, "customers", f"{ACCOUNTS}.national_id"),
    "leak_position_count": (INVEST, "engagement", f"{HOLDINGS}.custody_account_no"),
    "leak_fund_code_list": (INVEST, "products", f"{FUNDS}.fund_code"),
    "leak_custody_account_no": (INVEST, "customer_ref", f"{ACCOUNTS}.custody_account_no"),
    "leak_register_markets_flag": (INVEST, "investor", f"{ACCOUNTS}.closed_on"),
    "leak_objection_in_left_join_on": (OBJECTIONS, None, "privacy.objections.scope"),
}

GOOD = {
    # The same facts through the gate: whether a consenting person holds securities, how many
    # positions, and the population the gate admits.
    "good_securities_fact_through_gate": (
        "with persons as (select * from {{ ref('int_shareable_persons_admitted') }}),"
        " investments as (select * from {{ ref('int_investments_consented') }}),"
        " objections as (select * from {{ ref('int_objections_pivoted') }})"
        " select persons.person_id,"
        " investments.person_id is not null as is_investor,"
        " investments.securities_position_count as positions"
        " from persons left join investments on investments.person_id = persons.person_id"
        + LEFT_JOIN_OBJECTIONS
        + " where"
        + NOT_OBJECTING,
        {
            "person_id": "user.unique_id",
            "is_investor": "user.financial.product_holding",
            "positions": "user.financial.securities",
        },
    ),
    # The neutral population with the neutral companies' customer flags: no Markets data.
    "good_neutral_population": (
        IMPORTS + " select persons.person_id, persons.postcode, persons.is_insurance_customer"
        " from persons" + LEFT_JOIN_OBJECTIONS + " where" + NOT_OBJECTING,
        {**PERSON, "is_insurance_customer": "user.financial.product_holding"},
    ),
}
