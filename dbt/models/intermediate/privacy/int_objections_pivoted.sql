{#-
    The current objections of every person who objects to something, one boolean per scope: per
    person and scope the latest event wins, on equal event times the objection wins; no event
    means no objection. Keyed from the event log itself (person_id is the keyed hash of the
    event's national identity number), so the objection state does not depend on which companies
    know the person. A person without a current objection has no row here: outputs keep a
    person only when `not coalesce(objections.objects_<scope>, false)` after a LEFT JOIN.
-#}

with objection_events as (
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
        and {{ national_id_is_valid('national_id') }}
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
        {{ keyed_hash('pivoted.national_id') }} as person_id,
        pivoted.objects_direct_marketing,
        pivoted.objects_profiling,
        pivoted.objects_statistics,
        pivoted.objects_social_matching,
        pivoted.objects_model_development
    from pivoted
)

select * from resolved
