{#-
    One row per person known to a neutral company of the group (the bank, the insurer, the
    pension company), matched on the validated national identity number. person_id is a keyed
    hash (HMAC-SHA256) of that number, computed from these companies' records alone: nothing of
    Fjordbank Markets or Fjordbank Asset Management reaches this model, so the population it
    defines may be used without group-sharing consent. Identity and contact details come from
    the bank; persons who are not bank customers get their birth date from the identity number.
-#}

with bank_customers as (
    select * from {{ ref('stg_bank__customers') }}
),

insurance_policies as (
    select * from {{ ref('stg_insurance__policies') }}
),

pension_agreements as (
    select * from {{ ref('stg_pension__agreements') }}
),

-- A person may have had several bank customer numbers: the active one wins, else the newest.
bank_ranked as (
    select
        national_id,
        customer_no,
        first_name,
        last_name,
        birth_date,
        street_address,
        postcode,
        city,
        country_code,
        email,
        phone,
        customer_until,
        row_number() over (
            partition by national_id
            order by
                case when customer_until is null then 0 else 1 end,
                customer_since desc,
                customer_no
        ) as customer_rank
    from bank_customers
),

bank as (
    select
        national_id,
        customer_no,
        first_name,
        last_name,
        birth_date,
        street_address,
        postcode,
        city,
        country_code,
        email,
        phone,
        (customer_until is null or customer_until > current_date) as is_active
    from bank_ranked
    where customer_rank = 1
),

insurance as (
    select
        national_id,
        min(customer_no) as customer_no,
        max(case when end_date is null or end_date >= current_date then 1 else 0 end) = 1
            as is_active
    from insurance_policies
    group by national_id
),

pension as (
    select
        national_id,
        min(customer_no) as customer_no,
        max(case when end_date is null or end_date >= current_date then 1 else 0 end) = 1
            as is_active
    from pension_agreements
    group by national_id
),

known_ids as (
    select national_id from bank
    union
    select national_id from insurance
    union
    select national_id from pension
),

persons as (
    select
        national_id,
        {{ keyed_hash('national_id') }} as person_id
    from known_ids
    where {{ national_id_is_valid('national_id') }}
),

matched as (
    select
        persons.person_id,
        persons.national_id,
        bank.customer_no as bank_customer_no,
        insurance.customer_no as insurance_customer_no,
        pension.customer_no as pension_customer_no,
        bank.first_name,
        bank.last_name,
        coalesce(bank.birth_date, {{ national_id_birth_date('persons.national_id') }})
            as birth_date,
        bank.street_address,
        bank.postcode,
        bank.city,
        bank.country_code,
        bank.email,
        bank.phone,
        coalesce(bank.is_active, false) as is_bank_customer,
        coalesce(insurance.is_active, false) as is_insurance_customer,
        coalesce(pension.is_active, false) as is_pension_customer
    from persons
    left join bank
        on persons.national_id = bank.national_id
    left join insurance
        on persons.national_id = insurance.national_id
    left join pension
        on persons.national_id = pension.national_id
)

select * from matched
