{#-
    The features the statements allow for scoring and model development, one row per person:
    age, age group, postcode, product counts, usage ranges, roles and login frequency. The
    persons are int_shareable_persons_admitted (neutral companies' persons, and consenting
    holders admitted through the gate). Securities and fund features come only from the
    group-sharing consent gate (NULL for everyone else) and web behaviour only from the
    marketing-cookies gate (NULL for everyone else). Marts choose their columns and apply
    objections.
-#}

with persons as (
    select * from {{ ref('int_shareable_persons_admitted') }}
),

holdings as (
    select * from {{ ref('int_product_holdings_summarised') }}
),

usage as (
    select * from {{ ref('int_bank_usage_banded') }}
),

roles as (
    select * from {{ ref('int_customer_roles_flagged') }}
),

investments as (
    select * from {{ ref('int_investments_consented') }}
),

page_views as (
    select * from {{ ref('int_page_views_consented') }}
),

-- The 30 days end on the newest delivery of page views, not on the day of the run.
web_period as (
    select max(delivered_on) as as_of_date
    from page_views
),

web_behaviour as (
    select
        page_views.person_id,
        count(
            case
                when (
                    lower(page_views.page_path) like '%loan%'
                    or lower(page_views.page_path) like '%mortgage%'
                )
                    and {{ dbt.cast('page_views.viewed_at', 'date') }}
                        > {{ dbt.dateadd('day', -30, 'web_period.as_of_date') }}
                    then 1
            end
        ) as loan_page_views_last_30d
    from page_views
    cross join web_period
    group by page_views.person_id
),

aged as (
    select
        person_id,
        postcode,
        {{ age_in_years('birth_date') }} as age
    from persons
),

joined as (
    select
        aged.person_id,
        aged.age,
        {{ age_group('aged.age') }} as age_group,
        aged.postcode,
        coalesce(holdings.current_account_count, 0) as current_account_count,
        coalesce(holdings.savings_account_count, 0) as savings_account_count,
        coalesce(holdings.mortgage_count, 0) as mortgage_count,
        coalesce(holdings.consumer_loan_count, 0) as consumer_loan_count,
        coalesce(holdings.car_loan_count, 0) as car_loan_count,
        coalesce(holdings.student_loan_count, 0) as student_loan_count,
        coalesce(holdings.debit_card_count, 0) as debit_card_count,
        coalesce(holdings.credit_card_count, 0) as credit_card_count,
        coalesce(holdings.personal_insurance_count, 0) as personal_insurance_count,
        coalesce(holdings.non_life_insurance_count, 0) as non_life_insurance_count,
        coalesce(holdings.pension_agreement_count, 0) as pension_agreement_count,
        usage.balance_band,
        usage.deposit_band,
        usage.withdrawal_band,
        usage.transaction_frequency_band,
        usage.login_frequency,
        coalesce(roles.is_co_debtor, false) as is_co_debtor,
        coalesce(roles.is_guarantor, false) as is_guarantor,
        coalesce(roles.is_guardian, false) as is_guardian,
        coalesce(roles.has_co_debtor, false) as has_co_debtor,
        coalesce(roles.has_guarantor, false) as has_guarantor,
        coalesce(roles.has_guardian, false) as has_guardian,
        investments.securities_value_band,
        investments.fund_value_band,
        investments.fund_count,
        web_behaviour.loan_page_views_last_30d
    from aged
    -- products of the neutral companies; a holder admitted through the gate has none of them
    left join holdings
        on aged.person_id = holdings.person_id
    left join usage
        on aged.person_id = usage.person_id
    left join roles
        on aged.person_id = roles.person_id
    left join investments
        on aged.person_id = investments.person_id
    left join web_behaviour
        on aged.person_id = web_behaviour.person_id
)

select * from joined
