{#-
    The persons whose data the group may combine for marketing and model development, one row
    per person: every person known to a neutral company (the bank, the insurer, the pension
    company), and every securities or fund holder admitted through the group-sharing consent
    gate whom no neutral company knows. Nothing of Fjordbank Markets or Fjordbank Asset
    Management reaches this model except through the gate, so a person known only to them and
    without consent is not here at all. Contact details stay in int_neutral_persons_matched.
-#}

with neutral_persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

investments as (
    select * from {{ ref('int_investments_consented') }}
),

-- Consenting holders the neutral companies do not know (the others are neutral persons).
consenting_holders_only as (
    select
        investments.person_id,
        investments.birth_date
    from investments
    left join neutral_persons
        on investments.person_id = neutral_persons.person_id
    where neutral_persons.person_id is null
),

admitted as (
    select
        person_id,
        birth_date,
        postcode,
        is_bank_customer,
        is_insurance_customer,
        is_pension_customer
    from neutral_persons
    union all
    select
        person_id,
        birth_date,
        {{ dbt.cast('null', dbt.type_string()) }} as postcode,
        false as is_bank_customer,
        false as is_insurance_customer,
        false as is_pension_customer
    from consenting_holders_only
)

select * from admitted
