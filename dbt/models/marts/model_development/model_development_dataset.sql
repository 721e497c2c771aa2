{#-
    The pseudonymous data set for developing and validating models: the statement's features
    (age, age group, postcode, product counts, usage ranges, roles, login frequency; securities
    and fund features only through the consent gate) keyed by a pseudonym. The pseudonym is a
    keyed hash of person_id under its own key context, so it cannot be joined to person_id
    without the key. No names, contact details or identity numbers. Persons objecting to model
    development are left out (latest objection event wins), so an objection delivered today
    removes the person from the next day's data set.
-#}

with features as (
    select * from {{ ref('int_person_features_joined') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

pseudonymised as (
    select
        {{ keyed_hash(dbt.concat(["'model_development:'", 'features.person_id'])) }} as pseudonym,
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
        current_date as extracted_on
    from features
    left join objections
        on features.person_id = objections.person_id
    where not coalesce(objections.objects_model_development, false)
)

select * from pseudonymised
