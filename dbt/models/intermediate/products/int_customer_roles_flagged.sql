{#-
    Roles on the bank's agreements per person: whether the person is a co-debtor, guarantor or
    guardian for someone, and whether someone is one for them. One row per person with a bank
    customer number.
-#}

with bank_customer_persons as (
    select * from {{ ref('int_bank_customers_matched') }}
),

customer_roles as (
    select * from {{ ref('stg_bank__customer_roles') }}
),

bank_persons as (
    select distinct person_id
    from bank_customer_persons
),

roles_held as (
    select
        bank_customer_persons.person_id,
        max(case when customer_roles.role = 'co_debtor' then 1 else 0 end) = 1 as is_co_debtor,
        max(case when customer_roles.role = 'guarantor' then 1 else 0 end) = 1 as is_guarantor,
        max(case when customer_roles.role = 'guardian' then 1 else 0 end) = 1 as is_guardian
    from customer_roles
    inner join bank_customer_persons
        on customer_roles.customer_no = bank_customer_persons.customer_no
    group by bank_customer_persons.person_id
),

roles_had as (
    select
        bank_customer_persons.person_id,
        max(case when customer_roles.role = 'co_debtor' then 1 else 0 end) = 1 as has_co_debtor,
        max(case when customer_roles.role = 'guarantor' then 1 else 0 end) = 1 as has_guarantor,
        max(case when customer_roles.role = 'guardian' then 1 else 0 end) = 1 as has_guardian
    from customer_roles
    inner join bank_customer_persons
        on customer_roles.related_customer_no = bank_customer_persons.customer_no
    group by bank_customer_persons.person_id
),

flagged as (
    select
        bank_persons.person_id,
        coalesce(roles_held.is_co_debtor, false) as is_co_debtor,
        coalesce(roles_held.is_guarantor, false) as is_guarantor,
        coalesce(roles_held.is_guardian, false) as is_guardian,
        coalesce(roles_had.has_co_debtor, false) as has_co_debtor,
        coalesce(roles_had.has_guarantor, false) as has_guarantor,
        coalesce(roles_had.has_guardian, false) as has_guardian
    from bank_persons
    left join roles_held
        on bank_persons.person_id = roles_held.person_id
    left join roles_had
        on bank_persons.person_id = roles_had.person_id
)

select * from flagged
