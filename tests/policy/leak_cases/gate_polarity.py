"""Consent gates with the wrong polarity (PRIVACY.md rule 3: a gate admits the granting value of
the latest consent event per person and nothing else), and their benign twins.

Every gate here reads the consent event log (``stg_privacy__group_sharing_consents``) itself
and keys its rows with the ``keyed_hash`` macro, so the cases are about the gate's predicate
alone. The refuted gates are helpers read by a marketing model each; the twins are gated
marketing outputs that must pass.
"""

from __future__ import annotations

INVEST = "no_unconsented_investments_in_marketing"
WEB = "no_web_behaviour_without_cookie_consent"
HOLDINGS = "markets.securities_holdings"
GATE = {"consent_gate": "group_sharing"}

EVENTS = """
with events as (select * from {{ ref('stg_privacy__group_sharing_consents') }}),
holdings as (select * from {{ ref('stg_markets__securities_holdings') }}),
objections as (select * from {{ ref('int_objections_pivoted') }}),
ranked as (
    select national_id, consent, channel, event_time,
        row_number() over (
            partition by national_id
            order by event_time desc, case when consent = 'withdrawn' then 0 else 1 end
        ) as event_rank
    from events
),
latest as (
    select national_id, consent, channel, consent = 'granted' as has_group_sharing_consent
    from ranked
    where event_rank = 1
)
"""


def gate(predicate: str, *, source: str = "latest", join: str = "inner join") -> str:
    """Holdings of the persons whose ``source`` row (the latest consent event by default)
    passes ``predicate``."""
    return (
        EVENTS + " select {{ keyed_hash('holdings.national_id') }} as person_id,"
        " holdings.market_value as holding_value"
        f" from holdings {join} {source} on {source}.national_id = holdings.national_id"
        f" where {predicate}"
    )


def honoured(gated_sql: str) -> str:
    """A gated marketing output: the gate's rows, less the persons objecting to marketing."""
    return (
        gated_sql.replace(" select {{ keyed_hash", ", gated as (select {{ keyed_hash", 1)
        + ") select gated.person_id, gated.holding_value from gated"
        " left join objections on objections.person_id = gated.person_id"
        " where not coalesce(objections.objects_direct_marketing, false)"
    )


GATE_COLUMNS = {"person_id": "user.unique_id", "holding_value": "user.financial.securities"}
ALL_EVENTS = "events"
EVER_GRANTED = (
    ", ever as (select national_id, bool_or(consent = 'granted') as has_group_sharing_consent"
    " from events group by national_id)"
)

HELPERS = {
    # `where not has_group_sharing_consent`: keeps the persons who withdrew.
    "int_gate_inverted": (gate("not latest.has_group_sharing_consent"), GATE_COLUMNS, GATE),
    "int_gate_not_equal": (gate("latest.consent <> 'granted'"), GATE_COLUMNS, GATE),
    "int_gate_not_in": (gate("latest.consent not in ('granted')"), GATE_COLUMNS, GATE),
    "int_gate_withdrawn": (gate("latest.consent = 'withdrawn'"), GATE_COLUMNS, GATE),
    # `is null` after a LEFT JOIN: the persons without any consent event.
    "int_gate_is_null": (
        gate("latest.consent is null", join="left join"),
        GATE_COLUMNS,
        GATE,
    ),
    # Another column of the latest event: the channel it came through.
    "int_gate_wrong_column": (gate("latest.channel = 'online_bank'"), GATE_COLUMNS, GATE),
    # Any event granted, not the latest: a later withdrawal is ignored.
    "int_gate_not_latest": (
        gate("ever.has_group_sharing_consent", source="ever").replace(
            "\n select", EVER_GRANTED + "\n select", 1
        ),
        GATE_COLUMNS,
        GATE,
    ),
    "int_gate_any_event": (
        gate("events.consent = 'granted'", source=ALL_EVENTS),
        GATE_COLUMNS,
        GATE,
    ),
    # The latest of the events of one channel, not the latest event.
    "int_gate_latest_of_filtered": (
        gate("latest.has_group_sharing_consent").replace(
            "    from events\n", "    from events where channel = 'online_bank'\n", 1
        ),
        GATE_COLUMNS,
        GATE,
    ),
    # The cookie gate inverted: visitors whose latest choice refused marketing cookies.
    "int_cookie_gate_inverted": (
        """
with views as (select * from {{ ref('stg_web__page_views') }}),
choices as (select * from {{ ref('stg_privacy__cookie_consents') }}),
ranked as (
    select visitor_id, marketing_cookies,
        row_number() over (partition by visitor_id order by event_time desc) as event_rank
    from choices
)
select views.view_id, views.page_path from views
inner join ranked on ranked.visitor_id = views.visitor_id
where ranked.event_rank = 1 and not ranked.marketing_cookies
""",
        {"view_id": "user.unique_id", "page_path": "user.behavior.browsing_history"},
        {"consent_gate": "marketing_cookies"},
    ),
}
# A gate helper lives with the other intermediate models.
HELPERS = {
    name: (*spec, {"folder": "intermediate/gate_polarity"}) for name, spec in HELPERS.items()
}

REFUTED_GATES = {name for name, spec in HELPERS.items() if spec[2] == GATE}

LEAKS = {
    f"leak_via_{name.removeprefix('int_')}": (
        f"select person_id, holding_value from {{{{ ref('{name}') }}}}",
        {"person_id": "user.unique_id", "holding_value": "user.demographic.profile"},
    )
    for name in sorted(REFUTED_GATES)
}
LEAKS["leak_via_cookie_gate_inverted"] = (
    "select view_id, page_path from {{ ref('int_cookie_gate_inverted') }}",
    {"view_id": "user.unique_id", "page_path": "user.demographic.profile"},
)

EXPECTED = {
    name: (INVEST, "holding_value", f"{HOLDINGS}.market_value")
    for name in LEAKS
    if name != "leak_via_cookie_gate_inverted"
}
EXPECTED["leak_via_cookie_gate_inverted"] = (WEB, "page_path", "web.page_views.page_path")

# The benign twins: gated marketing outputs written in other ways that admit 'granted' only.
CONSENTS = (
    ", consents as (select {{ keyed_hash('national_id') }} as person_id,"
    " has_group_sharing_consent from latest)"
)
GOOD = {
    "good_gate_exists": (
        honoured(
            gate(
                "exists (select 1 from consents"
                " where consents.person_id = {{ keyed_hash('holdings.national_id') }}"
                " and consents.has_group_sharing_consent)",
                source="latest",
            ).replace("\n select", CONSENTS + "\n select", 1)
        ),
        GATE_COLUMNS,
        GATE,
    ),
    "good_gate_in_list": (honoured(gate("latest.consent in ('granted')")), GATE_COLUMNS, GATE),
    "good_gate_equals_true": (
        honoured(gate("latest.has_group_sharing_consent = true")),
        GATE_COLUMNS,
        GATE,
    ),
    "good_gate_is_true": (
        honoured(gate("latest.has_group_sharing_consent is true")),
        GATE_COLUMNS,
        GATE,
    ),
    # The latest event by arg_max per person, then a coalesced comparison.
    "good_gate_arg_max": (
        honoured(
            gate("coalesce(newest.consent = 'granted', false)", source="newest").replace(
                "\n select",
                ", newest as (select national_id, arg_max(consent, event_time) as consent"
                " from events group by national_id)\n select",
                1,
            )
        ),
        GATE_COLUMNS,
        GATE,
    ),
    # Every holding row, with the value only where the latest consent is granted (CASE).
    "good_gate_case": (
        EVENTS + ", gated as (select {{ keyed_hash('latest.national_id') }} as person_id,"
        " case when latest.has_group_sharing_consent then holdings.market_value end"
        " as holding_value from latest"
        " left join holdings on holdings.national_id = latest.national_id)"
        " select gated.person_id, gated.holding_value from gated"
        " left join objections on objections.person_id = gated.person_id"
        " where not coalesce(objections.objects_direct_marketing, false)",
        GATE_COLUMNS,
        GATE,
    ),
}
