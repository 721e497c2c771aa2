{#-
    Which products each person has at the neutral companies of the group (the bank, the insurer,
    the pension company): counts of running agreements per company and product. Neutral
    information (product holding): no balances, amounts or values. One row per person of
    int_neutral_persons_matched. Securities and fund products are counted for the register
    alone, in int_investment_products_summarised.
-#}

with persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

-- Every bank customer number of a person (not only the current one) carries their products.
bank_customer_persons as (
    select * from {{ ref('int_bank_customers_matched') }}
),

accounts as (
    select * from {{ ref('stg_bank__accounts') }}
),

cards as (
    select * from {{ ref('stg_bank__cards') }}
),

loans as (
    select * from {{ ref('stg_bank__loans') }}
),

insurance_policies as (
    select * from {{ ref('stg_insurance__policies') }}
),

pension_agreements as (
    select * from {{ ref('stg_pension__agreements') }}
),

account_counts as (
    select
        bank_customer_persons.person_id,
        count(case when accounts.product_code = 'current' then 1 end)
            as current_account_count,
        count(case when accounts.product_code in ('savings', 'bsu', 'fixed_term') then 1 end)
            as savings_account_count
    from accounts
    inner join bank_customer_persons
        on accounts.customer_no = bank_customer_persons.customer_no
    where accounts.closed_on is null or accounts.closed_on > current_date
    group by bank_customer_persons.person_id
),

card_counts as (
    select
        bank_customer_persons.person_id,
        count(case when cards.product_code = 'debit' then 1 end) as debit_card_count,
        count(case when cards.product_code = 'credit' then 1 end) as credit_card_count
    from cards
    inner join bank_customer_persons
        on cards.customer_no = bank_customer_persons.customer_no
    where cards.closed_on is null or cards.closed_on > current_date
    group by bank_customer_persons.person_id
),

loan_counts as (
    select
        bank_customer_persons.person_id,
        count(case when loans.product_code = 'mortgage' then 1 end) as mortgage_count,
        count(case when loans.product_code = 'consumer' then 1 end) as consumer_loan_count,
        count(case when loans.product_code = 'car' then 1 end) as car_loan_count,
        count(case when loans.product_code = 'student' then 1 end) as student_loan_count
    from loans
    inner join bank_customer_persons
        on loans.customer_no = bank_customer_persons.customer_no
    where loans.closed_on is null or loans.closed_on > current_date
    group by bank_customer_persons.person_id
),

insurance_counts as (
    select
        persons.person_id,
        count(
            case when insurance_policies.product_code in ('life', 'disability', 'health') then 1 end
        ) as personal_insurance_count,
        count(
            case when insurance_policies.product_code in ('home', 'car', 'travel') then 1 end
        ) as non_life_insurance_count
    from insurance_policies
    inner join persons
        on insurance_policies.national_id = persons.national_id
    where insurance_policies.end_date is null or insurance_policies.end_date >= current_date
    group by persons.person_id
),

pension_counts as (
    select
        persons.person_id,
        count(case when pension_agreements.product_code is not null then 1 end)
            as pension_agreement_count
    from pension_agreements
    inner join persons
        on pension_agreements.national_id = persons.national_id
    where pension_agreements.end_date is null or pension_agreements.end_date >= current_date
    group by persons.person_id
),

summarised as (
    select
        persons.person_id,
        coalesce(account_counts.current_account_count, 0) as current_account_count,
        coalesce(account_counts.savings_account_count, 0) as savings_account_count,
        coalesce(card_counts.debit_card_count, 0) as debit_card_count,
        coalesce(card_counts.credit_card_count, 0) as credit_card_count,
        coalesce(loan_counts.mortgage_count, 0) as mortgage_count,
        coalesce(loan_counts.consumer_loan_count, 0) as consumer_loan_count,
        coalesce(loan_counts.car_loan_count, 0) as car_loan_count,
        coalesce(loan_counts.student_loan_count, 0) as student_loan_count,
        coalesce(insurance_counts.personal_insurance_count, 0) as personal_insurance_count,
        coalesce(insurance_counts.non_life_insurance_count, 0) as non_life_insurance_count,
        coalesce(pension_counts.pension_agreement_count, 0) as pension_agreement_count
    from persons
    left join account_counts
        on persons.person_id = account_counts.person_id
    left join card_counts
        on persons.person_id = card_counts.person_id
    left join loan_counts
        on persons.person_id = loan_counts.person_id
    left join insurance_counts
        on persons.person_id = insurance_counts.person_id
    left join pension_counts
        on persons.person_id = pension_counts.person_id
)

select * from summarised
