{#-
    Group exposure per person for the assessment of a loan application: running loans and card
    credit limits at the bank, the number of insurance policies and pension agreements
    (neutral), and the default history kept by the risk unit. For credit assessment only.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

holdings as (
    select * from {{ ref('int_product_holdings_summarised') }}
),

bank_credit as (
    select * from {{ ref('int_bank_credit_summarised') }}
),

defaults as (
    select * from {{ ref('int_default_cases_summarised') }}
),

exposure as (
    select
        persons.person_id,
        coalesce(bank_credit.loan_count, 0) as loan_count,
        coalesce(bank_credit.loans_outstanding, 0) as loans_outstanding,
        coalesce(bank_credit.mortgage_outstanding, 0) as mortgage_outstanding,
        coalesce(bank_credit.credit_card_limit, 0) as credit_card_limit,
        coalesce(bank_credit.has_loan_in_default, false) as has_loan_in_default,
        coalesce(holdings.personal_insurance_count, 0) as personal_insurance_count,
        coalesce(holdings.non_life_insurance_count, 0) as non_life_insurance_count,
        coalesce(holdings.pension_agreement_count, 0) as pension_agreement_count,
        coalesce(defaults.default_case_count, 0) as default_case_count,
        coalesce(defaults.open_default_case_count, 0) as open_default_case_count,
        coalesce(defaults.defaulted_amount, 0) as defaulted_amount,
        coalesce(defaults.loss_amount, 0) as loss_amount,
        defaults.last_default_opened_on,
        current_date as computed_on
    from persons
    -- products of the neutral companies: none for a person only Markets or Asset Management knows
    left join holdings
        on persons.person_id = holdings.person_id
    left join bank_credit
        on persons.person_id = bank_credit.person_id
    left join defaults
        on persons.person_id = defaults.person_id
)

select * from exposure
