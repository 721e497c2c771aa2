{#-
    The current group-sharing consent of every person: the latest event wins, on equal event
    times a withdrawal wins, and a person without any event has not consented.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

consent_events as (
    select * from {{ ref('stg_privacy__group_sharing_consents') }}
),

ranked as (
    select
        national_id,
        consent,
        event_time,
        row_number() over (
            partition by national_id
            order by event_time desc, case when consent = 'withdrawn' then 0 else 1 end
        ) as event_rank
    from consent_events
),

latest as (
    select
        national_id,
        consent,
        event_time
    from ranked
    where event_rank = 1
),

resolved as (
    select
        persons.person_id,
        coalesce(latest.consent = 'granted', false) as has_group_sharing_consent,
        latest.event_time as consent_changed_at
    from persons
    left join latest
        on persons.national_id = latest.national_id
)

select * from resolved
