{{ config(meta={'dagster': {'asset_key': ['group_customer_register']}}) }}

-- The group register has exactly one row per matched person: none missing, none twice, none
-- unknown. Returns the offending person_ids.

with persons as (
    select person_id from {{ ref('int_persons_matched') }}
),

register as (
    select person_id from {{ ref('group_customer_register') }}
),

missing as (
    select persons.person_id, 'missing from the register' as problem
    from persons
    left join register
        on persons.person_id = register.person_id
    where register.person_id is null
),

duplicated as (
    select person_id, 'more than one row' as problem
    from register
    group by person_id
    having count(*) > 1
),

unknown as (
    select register.person_id, 'not a matched person' as problem
    from register
    left join persons
        on register.person_id = persons.person_id
    where persons.person_id is null
)

select * from missing
union all
select * from duplicated
union all
select * from unknown
