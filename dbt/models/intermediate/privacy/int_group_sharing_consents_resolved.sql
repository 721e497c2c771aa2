{#-
    The current group-sharing consent of every person with a consent event: the latest event
    wins, on equal event times a withdrawal wins. Keyed from the event log itself (person_id is
    the keyed hash of the event's national identity number), so the consent state does not
    depend on which companies know the person. A person without any event has no row here and
    has not consented.
-#}

with consent_events as (
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
        and {{ national_id_is_valid('national_id') }}
),

resolved as (
    select
        {{ keyed_hash('latest.national_id') }} as person_id,
        latest.consent = 'granted' as has_group_sharing_consent,
        latest.event_time as consent_changed_at
    from latest
)

select * from resolved
