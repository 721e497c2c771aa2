{#-
    One row per person known to any company of the group, for customer administration (the
    group register) and credit assessment: the persons of the neutral companies
    (int_neutral_persons_matched) and the customers of Fjordbank Markets and Fjordbank Asset
    Management, matched on the validated national identity number, with which companies the
    person is a customer of. person_id is the same keyed hash (HMAC-SHA256) of that number,
    computed here for every person from the number (one expression the access report can
    recompute). Securities and fund customers reach this model, so marketing and model
    development never read it: their population is int_shareable_persons_admitted.
-#}

with neutral_persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

securities_accounts as (
    select * from {{ ref('stg_markets__securities_accounts') }}
),

fund_holdings as (
    select * from {{ ref('stg_asset_management__fund_holdings') }}
),

markets as (
    select
        national_id,
        max(case when closed_on is null or closed_on > current_date then 1 else 0 end) = 1
            as is_active
    from securities_accounts
    group by national_id
),

-- The asset manager delivers holdings only: its customers are the persons in its newest snapshot.
fund_snapshot as (
    select max(as_of_date) as as_of_date
    from fund_holdings
),

asset_management as (
    select distinct fund_holdings.national_id
    from fund_holdings
    inner join fund_snapshot
        on fund_holdings.as_of_date = fund_snapshot.as_of_date
),

known_ids as (
    select national_id from neutral_persons
    union
    select national_id from markets
    union
    select national_id from fund_holdings
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
        neutral_persons.bank_customer_no,
        neutral_persons.insurance_customer_no,
        neutral_persons.pension_customer_no,
        neutral_persons.first_name,
        neutral_persons.last_name,
        coalesce(neutral_persons.birth_date, {{ national_id_birth_date('persons.national_id') }})
            as birth_date,
        neutral_persons.street_address,
        neutral_persons.postcode,
        neutral_persons.city,
        neutral_persons.country_code,
        neutral_persons.email,
        neutral_persons.phone,
        coalesce(neutral_persons.is_bank_customer, false) as is_bank_customer,
        coalesce(neutral_persons.is_insurance_customer, false) as is_insurance_customer,
        coalesce(neutral_persons.is_pension_customer, false) as is_pension_customer,
        coalesce(markets.is_active, false) as is_markets_customer,
        (asset_management.national_id is not null) as is_asset_management_customer
    from persons
    left join neutral_persons
        on persons.national_id = neutral_persons.national_id
    left join markets
        on persons.national_id = markets.national_id
    left join asset_management
        on persons.national_id = asset_management.national_id
)

select * from matched
