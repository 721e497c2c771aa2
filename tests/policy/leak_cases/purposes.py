"""Leak-suite cases of guarantees 4 and 5 beyond marketing (PRIVACY.md rules 4 and 5).

Default and fraud data (source ``risk``) serve only the purpose-bound purposes: a statistics
output, a model-development output or the register that uses them, even only to pick rows or
to decide a flag, is named by ``purpose_limitation``. A model-development output must be
filtered by model-development objections (``objections_honoured``). Each has a benign twin in
``GOOD``, and a credit output (credit assessment is purpose-bound) may use the defaults.
"""

from __future__ import annotations

LIMIT = "purpose_limitation"
OBJECTIONS = "objections_honoured"

STATISTICS = {"purposes": ["analytics.reporting.statistics"], "retention": "P5Y"}
MODEL_DEVELOPMENT = {"purposes": ["analytics.model_development"], "retention": "P1Y"}
REGISTER = {"purposes": ["essential.service.customer_administration"], "retention": "P10Y"}
CREDIT = {"purposes": ["finance.credit_assessment"], "retention": "P1Y"}

IMPORTS = """
with customers as (select * from {{ ref('stg_bank__customers') }}),
objections as (select * from {{ ref('int_objections_pivoted') }}),
defaults as (select * from {{ ref('stg_risk__default_cases') }}),
fraud as (select * from {{ ref('stg_risk__fraud_cases') }})
"""


def _not_objecting(scope: str) -> str:
    """Keep the customers without a current objection in ``scope`` (persons without one have
    no row in int_objections_pivoted)."""
    return (
        " left join objections on objections.person_id ="
        " {{ keyed_hash('customers.national_id') }}"
        f" where not coalesce(objections.objects_{scope}, false)"
    )


def _statistics(extra_condition: str = "") -> str:
    return (
        IMPORTS
        + " select customers.postcode, count(*) as customer_count from customers"
        + _not_objecting("statistics")
        + extra_condition
        + " group by customers.postcode"
    )


def _model_development(scope: str, fraud_flag: bool) -> str:
    flag = (
        ", case when exists (select 1 from fraud where fraud.national_id ="
        " customers.national_id) then 1 else 0 end as risk_flag"
        if fraud_flag
        else ", 0 as risk_flag"
    )
    return (
        IMPORTS + " select {{ keyed_hash(\"'leak_md:' || customers.national_id\") }} as pseudonym,"
        " customers.postcode" + flag + " from customers" + _not_objecting(scope)
    )


def _register(default_flag: bool) -> str:
    flag = (
        "case when defaults.case_no is not null then true else false end"
        if default_flag
        else "customers.customer_until is null"
    )
    join = (
        " left join defaults on defaults.national_id = customers.national_id"
        if default_flag
        else ""
    )
    return (
        IMPORTS + " select {{ keyed_hash('customers.national_id') }} as person_id,"
        f" customers.first_name, {flag} as flagged from customers" + join
    )


STATS_COLS = {"postcode": "user.contact.address.postal_code", "customer_count": "system.operations"}
MD_COLS = {
    "pseudonym": "user.unique_id.pseudonymous",
    "postcode": "user.contact.address.postal_code",
    "risk_flag": "user.demographic.profile",
}
REGISTER_COLS = {
    "person_id": "user.unique_id",
    "first_name": "user.name.first",
    "flagged": "user.financial.product_holding",
}

LEAKS = {
    # Defaulters left out of published statistics: the filter uses the default cases.
    "leak_defaults_in_statistics": (
        _statistics(" and customers.national_id not in (select national_id from defaults)"),
        STATS_COLS,
        STATISTICS,
        {"folder": "marts/statistics/leaks"},
    ),
    # A fraud flag as a feature of the model-development data set.
    "leak_fraud_in_model_development": (
        _model_development("model_development", fraud_flag=True),
        MD_COLS,
        MODEL_DEVELOPMENT,
        {"folder": "marts/model_development/leaks"},
    ),
    # The register saying who has defaulted, labelled as a product-holding flag.
    "leak_defaults_in_register": (
        _register(default_flag=True),
        REGISTER_COLS,
        REGISTER,
        {"folder": "marts/register/leaks"},
    ),
    # A model-development data set filtered by statistics objections instead.
    "leak_model_development_unfiltered": (
        _model_development("statistics", fraud_flag=False),
        MD_COLS,
        MODEL_DEVELOPMENT,
        {"folder": "marts/model_development/leaks"},
    ),
}

EXPECTED = {
    "leak_defaults_in_statistics": (LIMIT, "customer_count", "risk.default_cases.national_id"),
    "leak_fraud_in_model_development": (LIMIT, "risk_flag", "risk.fraud_cases.national_id"),
    "leak_defaults_in_register": (LIMIT, "flagged", "risk.default_cases.case_no"),
    "leak_model_development_unfiltered": (OBJECTIONS, None, "privacy.objections.scope"),
}

GOOD = {
    "good_statistics_without_defaults": (
        _statistics(),
        STATS_COLS,
        STATISTICS,
        {"folder": "marts/statistics/gated"},
    ),
    "good_model_development_filtered": (
        _model_development("model_development", fraud_flag=False),
        MD_COLS,
        MODEL_DEVELOPMENT,
        {"folder": "marts/model_development/gated"},
    ),
    "good_register_without_defaults": (
        _register(default_flag=False),
        REGISTER_COLS,
        REGISTER,
        {"folder": "marts/register/gated"},
    ),
    # Credit assessment is a purpose-bound purpose: the defaults may serve it.
    "good_credit_uses_defaults": (
        IMPORTS + " select {{ keyed_hash('customers.national_id') }} as person_id,"
        " count(defaults.case_no) as default_case_count from customers"
        " left join defaults on defaults.national_id = customers.national_id"
        " group by customers.national_id",
        {"person_id": "user.unique_id", "default_case_count": "user.financial.credit_history"},
        CREDIT,
        {"folder": "marts/credit/gated"},
    ),
}
