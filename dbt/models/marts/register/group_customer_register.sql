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
        holdings.current_account_count,
        holdings.savings_account_count,
        holdings.debit_card_count,
        holdings.credit_card_count,
        holdings.mortgage_count,
        holdings.consumer_loan_count,
        holdings.car_loan_count,
        holdings.student_loan_count,
        holdings.personal_insurance_count,
        holdings.non_life_insurance_count,
        holdings.pension_agreement_count,
        holdings.securities_account_count,
        holdings.fund_product_count
    from persons
    inner join holdings
        on persons.person_id = holdings.person_id
)

select * from register
