{#-
    Every bank customer number matched to its person on the national identity number: the
    bank's customers joined to the neutral persons. One row per customer number, every number a
    person has had (not only the current one), so each of them carries its products, usage and
    roles. Read by the bank's summaries in intermediate/products.
-#}

with persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

bank_customers as (
    select * from {{ ref('stg_bank__customers') }}
),

matched as (
    select
        bank_customers.customer_no,
        persons.person_id
    from bank_customers
    inner join persons
        on bank_customers.national_id = persons.national_id
)

select * from matched
