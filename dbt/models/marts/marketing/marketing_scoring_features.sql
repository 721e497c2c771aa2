{#-
    The scoring features of the privacy statement, one row per person the group may score today:
    customers of the bank, insurer or pension company, and consenting securities or fund
    customers. Securities and fund features come only through the group-sharing consent gate,
    web behaviour only through the marketing-cookies gate. Persons objecting to profiling or to
    direct marketing, and children, are left out. Rebuilt daily; no history.
-#}

with features as (
    select * from {{ ref('int_person_features_joined') }}
),

persons as (
    select * from {{ ref('int_shareable_persons_admitted') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

scoring_features as (
    select
        features.person_id,
        features.age,
        features.age_group,
        features.postcode,
        features.current_account_count,
        features.savings_account_count,
        features.mortgage_count,
        features.consumer_loan_count,
        features.car_loan_count,
        features.student_loan_count,
        features.debit_card_count,
        features.credit_card_count,
        features.personal_insurance_count,
        features.non_life_insurance_count,
        features.pension_agreement_count,
        features.balance_band,
        features.deposit_band,
        features.withdrawal_band,
        features.transaction_frequency_band,
        features.login_frequency,
        features.is_co_debtor,
        features.is_guarantor,
        features.is_guardian,
        features.has_co_debtor,
        features.has_guarantor,
        features.has_guardian,
        features.securities_value_band,
        features.fund_value_band,
        features.fund_count,
        features.loan_page_views_last_30d,
        current_date as computed_on
    from features
    inner join persons
        on features.person_id = persons.person_id
    left join objections
        on features.person_id = objections.person_id
    where not coalesce(objections.objects_profiling, false)
        and not coalesce(objections.objects_direct_marketing, false)
        -- no profiling of children for marketing (GDPR recital 71)
        and features.age >= 18
        and (
            persons.is_bank_customer
            or persons.is_insurance_customer
            or persons.is_pension_customer
            or features.securities_value_band is not null
            or features.fund_value_band is not null
        )
)

select * from scoring_features
