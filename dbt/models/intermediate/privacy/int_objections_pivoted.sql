{#-
    The current objections of every person, one boolean per scope: per person and scope the
    latest event wins, on equal event times the objection wins; no event means no objection.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

objection_events as (
    select * from {{ ref('stg_privacy__objections') }}
),

ranked as (
    select
        national_id,
        scope,
        action,
        row_number() over (
            partition by national_id, scope
            order by event_time desc, case when action = 'object' then 0 else 1 end
        ) as event_rank
    from objection_events
),

current_objections as (
    select
        national_id,
        scope
    from ranked
    where event_rank = 1
        and action = 'object'
),

pivoted as (
    select
        national_id,
        max(case when scope = 'direct_marketing' then 1 else 0 end) = 1
            as objects_direct_marketing,
        max(case when scope = 'profiling' then 1 else 0 end) = 1 as objects_profiling,
        max(case when scope = 'statistics' then 1 else 0 end) = 1 as objects_statistics,
        max(case when scope = 'social_matching' then 1 else 0 end) = 1
            as objects_social_matching,
        max(case when scope = 'model_development' then 1 else 0 end) = 1
            as objects_model_development
    from current_objections
    group by national_id
),

resolved as (
    select
        persons.person_id,
        coalesce(pivoted.objects_direct_marketing, false) as objects_direct_marketing,
        coalesce(pivoted.objects_profiling, false) as objects_profiling,
        coalesce(pivoted.objects_statistics, false) as objects_statistics,
        coalesce(pivoted.objects_social_matching, false) as objects_social_matching,
        coalesce(pivoted.objects_model_development, false) as objects_model_development
    from persons
    left join pivoted
        on persons.national_id = pivoted.national_id
)

select * from resolved
