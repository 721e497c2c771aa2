{#-
    Each person's credit at the bank, for credit assessment only: outstanding loans, card credit
    limits and whether a running loan is in default. One row per person with a bank customer
    number.
-#}

with bank_customer_persons as (
    select * from {{ ref('int_bank_customers_matched') }}
),

loans as (
    select * from {{ ref('stg_bank__loans') }}
),

cards as (
    select * from {{ ref('stg_bank__cards') }}
),

bank_persons as (
    select distinct person_id
    from bank_customer_persons
),

loan_exposure as (
    select
        bank_customer_persons.person_id,
        count(loans.loan_no) as loan_count,
        sum(loans.outstanding) as loans_outstanding,
        sum(case when loans.product_code = 'mortgage' then loans.outstanding else 0 end)
            as mortgage_outstanding,
        max(case when loans.in_default then 1 else 0 end) = 1 as has_loan_in_default
    from loans
    inner join bank_customer_persons
        on loans.customer_no = bank_customer_persons.customer_no
    where loans.closed_on is null or loans.closed_on > current_date
    group by bank_customer_persons.person_id
),

card_exposure as (
    select
        bank_customer_persons.person_id,
        sum(cards.credit_limit) as credit_card_limit
    from cards
    inner join bank_customer_persons
        on cards.customer_no = bank_customer_persons.customer_no
    where cards.product_code = 'credit'
        and (cards.closed_on is null or cards.closed_on > current_date)
    group by bank_customer_persons.person_id
),

summarised as (
    select
        bank_persons.person_id,
        coalesce(loan_exposure.loan_count, 0) as loan_count,
        coalesce(loan_exposure.loans_outstanding, 0) as loans_outstanding,
        coalesce(loan_exposure.mortgage_outstanding, 0) as mortgage_outstanding,
        coalesce(card_exposure.credit_card_limit, 0) as credit_card_limit,
        coalesce(loan_exposure.has_loan_in_default, false) as has_loan_in_default
    from bank_persons
    left join loan_exposure
        on bank_persons.person_id = loan_exposure.person_id
    left join card_exposure
        on bank_persons.person_id = card_exposure.person_id
)

select * from summarised
