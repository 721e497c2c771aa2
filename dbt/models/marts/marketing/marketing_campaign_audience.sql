{#-
    Campaign audiences: per scenario, the highest-scoring persons at or above the scenario's
    cut-off (at most audience_max_size), with their contact details. Persons objecting to direct
    marketing or profiling are left out. Rebuilt daily.
-#}

with scores as (
    select * from {{ ref('marketing_propensity_scores') }}
),

scenarios as (
    select * from {{ ref('scoring_scenarios') }}
),

persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

qualified as (
    select
        scores.scenario,
        scores.person_id,
        scores.score,
        scores.scored_on,
        scenarios.audience_max_size,
        row_number() over (
            partition by scores.scenario
            order by scores.score desc, scores.person_id
        ) as audience_rank
    from scores
    inner join scenarios
        on scores.scenario = scenarios.scenario
    left join objections
        on scores.person_id = objections.person_id
    where scores.score >= scenarios.audience_min_score
        and not coalesce(objections.objects_direct_marketing, false)
        and not coalesce(objections.objects_profiling, false)
),

audience as (
    select
        qualified.scenario,
        qualified.audience_rank,
        qualified.person_id,
        qualified.score,
        persons.first_name,
        persons.last_name,
        persons.email,
        persons.phone,
        persons.street_address,
        persons.postcode,
        persons.city,
        qualified.scored_on
    from qualified
    -- contact details from the neutral companies; a holder admitted only through the consent
    -- gate has none
    left join persons
        on qualified.person_id = persons.person_id
    where qualified.audience_rank <= qualified.audience_max_size
)

select * from audience
