{#-
    Default history per person from the risk unit's default cases (kept 13 years for legal
    claims): for credit assessment only, never marketing. One row per person with a case.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

default_cases as (
    select * from {{ ref('stg_risk__default_cases') }}
),

summarised as (
    select
        persons.person_id,
        count(default_cases.case_no) as default_case_count,
        count(case when default_cases.closed_on is null then 1 end)
            as open_default_case_count,
        sum(default_cases.defaulted_amount) as defaulted_amount,
        coalesce(sum(default_cases.loss_amount), 0) as loss_amount,
        max(default_cases.opened_on) as last_default_opened_on
    from default_cases
    inner join persons
        on default_cases.national_id = persons.national_id
    group by persons.person_id
)

select * from summarised
