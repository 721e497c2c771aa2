{#-
    The group-wide shared customer register: one row per person with neutral information only:
    identity, contact details, which group companies the person is a customer of and which
    products they have (counts). No balances, values, securities or fund holdings, risk or web
    data. The national identity number is here for customer administration.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

holdings as (
    select * from {{ ref('int_product_holdings_summarised') }}
),

investment_products as (
    select * from {{ ref('int_investment_products_summarised') }}
),

register as (
    select
        persons.person_id,
        persons.national_id,
        persons.first_name,
        persons.last_name,
        persons.birth_date,
        persons.street_address,
        persons.postcode,
        persons.city,
        persons.country_code,
        persons.email,
        persons.phone,
        persons.bank_customer_no,
        persons.insurance_customer_no,
        persons.pension_customer_no,
        persons.is_bank_customer,
        persons.is_insurance_customer,
        persons.is_pension_customer,
        persons.is_markets_customer,
        persons.is_asset_management_customer,
        coalesce(holdings.current_account_count, 0) as current_account_count,
        coalesce(holdings.savings_account_count, 0) as savings_account_count,
        coalesce(holdings.debit_card_count, 0) as debit_card_count,
        coalesce(holdings.credit_card_count, 0) as credit_card_count,
        coalesce(holdings.mortgage_count, 0) as mortgage_count,
        coalesce(holdings.consumer_loan_count, 0) as consumer_loan_count,
        coalesce(holdings.car_loan_count, 0) as car_loan_count,
        coalesce(holdings.student_loan_count, 0) as student_loan_count,
        coalesce(holdings.personal_insurance_count, 0) as personal_insurance_count,
        coalesce(holdings.non_life_insurance_count, 0) as non_life_insurance_count,
        coalesce(holdings.pension_agreement_count, 0) as pension_agreement_count,
        investment_products.securities_account_count,
        investment_products.fund_product_count
    from persons
    -- products of the neutral companies: none for a person only Markets or Asset Management knows
    left join holdings
        on persons.person_id = holdings.person_id
    inner join investment_products
        on persons.person_id = investment_products.person_id
)

select * from register
