"""Leak-suite cases of whole rows used as values (PRIVACY.md rule 6, issue 11).

A marketing model that puts a whole holdings row into one column (``to_json(h)``, ``list(h)``,
``hash(h)``, the bare alias ``h``, ``struct_pack(h.*)``, a CTE alias selected as a column)
writes every column of that row: the lineage gives the column an edge from each of them, so
``no_unconsented_investments_in_marketing`` names the column with a holdings value column
that only the whole row carries (``market_value``, ``quantity``, ``units``). Each has a benign
twin in ``GOOD``: the same construct over neutral person data, or over the consent gate's
output.
"""

from __future__ import annotations

INVEST = "no_unconsented_investments_in_marketing"
HOLDINGS = "markets.securities_holdings"
FUNDS = "asset_management.fund_holdings"

# The neutral persons (no securities or fund data reach them), the objections, the holdings.
IMPORTS = """
with persons as (select * from {{ ref('int_neutral_persons_matched') }}),
objections as (select * from {{ ref('int_objections_pivoted') }}),
holdings as (select * from {{ ref('stg_markets__securities_holdings') }}),
funds as (select * from {{ ref('stg_asset_management__fund_holdings') }})
"""
# Persons without a direct-marketing objection (persons without one have no objections row).
NOT_OBJECTING = (
    " left join objections on objections.person_id = persons.person_id"
    " where not coalesce(objections.objects_direct_marketing, false)"
)
HOLDERS = " inner join holdings on holdings.national_id = persons.national_id"

PROFILE = "user.demographic.profile"
PERSON = {"person_id": "user.unique_id", "payload": PROFILE}

LEAKS = {
    "leak_row_to_json": (
        IMPORTS
        + " select persons.person_id, to_json(holdings) as payload from persons"
        + HOLDERS
        + NOT_OBJECTING,
        PERSON,
    ),
    "leak_row_list": (
        IMPORTS + " select persons.person_id, list(funds) as payload from persons"
        " inner join funds on funds.national_id = persons.national_id"
        + NOT_OBJECTING
        + " group by persons.person_id",
        PERSON,
    ),
    "leak_row_hash": (
        IMPORTS
        + " select persons.person_id, hash(holdings) as payload from persons"
        + HOLDERS
        + NOT_OBJECTING,
        PERSON,
    ),
    "leak_row_bare_alias": (
        IMPORTS
        + " select persons.person_id, holdings as payload from persons"
        + HOLDERS
        + NOT_OBJECTING,
        PERSON,
    ),
    "leak_row_struct_pack": (
        IMPORTS
        + " select persons.person_id, struct_pack(holdings.*) as payload from persons"
        + HOLDERS
        + NOT_OBJECTING,
        PERSON,
    ),
    "leak_row_cte_alias": (
        IMPORTS + ", positions as (select national_id, sum(quantity) as lots"
        " from holdings group by national_id)"
        " select persons.person_id, positions as payload from persons"
        " inner join positions on positions.national_id = persons.national_id" + NOT_OBJECTING,
        PERSON,
    ),
}

# model -> (rule, column, restricted source column that must be named)
EXPECTED = {
    "leak_row_to_json": (INVEST, "payload", f"{HOLDINGS}.market_value"),
    "leak_row_list": (INVEST, "payload", f"{FUNDS}.units"),
    "leak_row_hash": (INVEST, "payload", f"{HOLDINGS}.market_value"),
    "leak_row_bare_alias": (INVEST, "payload", f"{HOLDINGS}.market_value"),
    "leak_row_struct_pack": (INVEST, "payload", f"{HOLDINGS}.market_value"),
    "leak_row_cte_alias": (INVEST, "payload", f"{HOLDINGS}.quantity"),
}

# The neutral contact columns of a person, as a row ({value}: the payload, not str.format:
# the SQL holds Jinja braces).
CONTACT = (
    ", contact as (select person_id, first_name, postcode from persons)"
    " select persons.person_id, {value} as payload from persons"
    " inner join contact on contact.person_id = persons.person_id" + NOT_OBJECTING
)
# Securities facts through the group-sharing consent gate.
GATED = (
    ", consented as (select person_id, securities_value_band"
    " from {{ ref('int_investments_consented') }})"
    " select persons.person_id, {value} as payload from persons"
    " left join consented on consented.person_id = persons.person_id" + NOT_OBJECTING
)

GOOD = {
    "good_row_to_json_neutral": (IMPORTS + CONTACT.replace("{value}", "to_json(contact)"), PERSON),
    "good_row_list_neutral": (
        IMPORTS + CONTACT.replace("{value}", "list(contact)") + " group by persons.person_id",
        PERSON,
    ),
    "good_row_hash_neutral": (IMPORTS + CONTACT.replace("{value}", "hash(contact)"), PERSON),
    "good_row_bare_alias_neutral": (IMPORTS + CONTACT.replace("{value}", "contact"), PERSON),
    "good_row_struct_pack_neutral": (
        IMPORTS + CONTACT.replace("{value}", "struct_pack(contact.*)"),
        PERSON,
    ),
    "good_row_cte_alias_gated": (IMPORTS + GATED.replace("{value}", "consented"), PERSON),
}
