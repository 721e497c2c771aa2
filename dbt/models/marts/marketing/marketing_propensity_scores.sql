{#-
    Daily propensity scores: for every scored person and campaign scenario of the seed
    scoring_scenarios, a logistic score in (0, 1) from the scoring features. Deterministic,
    computed fresh every run (scored_on = today), the table replaced: no history, no permanent
    profile. Persons objecting to profiling or direct marketing are left out.
-#}

with features as (
    select * from {{ ref('marketing_scoring_features') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

scenarios as (
    select * from {{ ref('scoring_scenarios') }}
),

eligible as (
    select
        features.person_id,
        features.age,
        features.current_account_count,
        features.savings_account_count,
        features.mortgage_count,
        features.consumer_loan_count + features.car_loan_count + features.student_loan_count
            as other_loan_count,
        features.credit_card_count,
        features.personal_insurance_count,
        features.pension_agreement_count,
        features.balance_band,
        features.transaction_frequency_band,
        features.login_frequency,
        (
            features.is_co_debtor or features.is_guarantor or features.is_guardian
            or features.has_co_debtor or features.has_guarantor or features.has_guardian
        ) as has_role,
        features.securities_value_band,
        features.fund_value_band,
        features.loan_page_views_last_30d
    from features
    left join objections
        on features.person_id = objections.person_id
    where not coalesce(objections.objects_profiling, false)
        and not coalesce(objections.objects_direct_marketing, false)
),

linear as (
    select
        eligible.person_id,
        scenarios.scenario,
        scenarios.intercept
        + scenarios.w_age_decade * coalesce(eligible.age, 0) / 10.0
        + scenarios.w_current_accounts * eligible.current_account_count
        + scenarios.w_savings_accounts * eligible.savings_account_count
        + scenarios.w_mortgages * eligible.mortgage_count
        + scenarios.w_other_loans * eligible.other_loan_count
        + scenarios.w_credit_cards * eligible.credit_card_count
        + scenarios.w_personal_insurance * eligible.personal_insurance_count
        + scenarios.w_pension_agreements * eligible.pension_agreement_count
        + scenarios.w_balance_band * {{ band_rank('eligible.balance_band') }}
        + scenarios.w_transaction_band * {{ band_rank('eligible.transaction_frequency_band') }}
        + scenarios.w_login_frequency * {{ band_rank('eligible.login_frequency') }}
        + scenarios.w_roles * case when eligible.has_role then 1 else 0 end
        + scenarios.w_securities_band * {{ band_rank('eligible.securities_value_band') }}
        + scenarios.w_fund_band * {{ band_rank('eligible.fund_value_band') }}
        + scenarios.w_loan_page_views * coalesce(eligible.loan_page_views_last_30d, 0)
            as linear_predictor
    from eligible
    cross join scenarios
),

scored as (
    select
        person_id,
        scenario,
        round({{ logistic('linear_predictor') }}, 6) as score,
        current_date as scored_on
    from linear
)

select * from scored
