{#-
    CONSENT GATE (marketing_cookies). Page views of visitors whose latest marketing-cookie choice
    is an acceptance (latest event wins; on equal times the refusal wins), linked to a person
    through the visitor's logged-in views (person_id is the keyed hash of the identity number
    they logged in with; which companies know the person is for the models reading this one to
    decide). Visitors seen logged in as more than one person are not linked. Web behaviour
    reaches marketing only through this model. One row per page view.
-#}

with page_views as (
    select * from {{ ref('stg_web__page_views') }}
),

cookie_consents as (
    select * from {{ ref('stg_privacy__cookie_consents') }}
),

consent_ranked as (
    select
        visitor_id,
        marketing_cookies,
        row_number() over (
            partition by visitor_id
            order by event_time desc, case when marketing_cookies then 1 else 0 end
        ) as event_rank
    from cookie_consents
),

consenting_visitors as (
    select visitor_id
    from consent_ranked
    where event_rank = 1
        and marketing_cookies
),

consented_views as (
    select
        page_views.view_id,
        page_views.visitor_id,
        page_views.national_id,
        page_views.page_path,
        page_views.viewed_at,
        page_views.delivered_on
    from page_views
    inner join consenting_visitors
        on page_views.visitor_id = consenting_visitors.visitor_id
),

visitor_identities as (
    select
        visitor_id,
        min(national_id) as national_id
    from consented_views
    where national_id is not null
    group by visitor_id
    having count(distinct national_id) = 1
),

visitor_persons as (
    select
        visitor_id,
        {{ keyed_hash('national_id') }} as person_id
    from visitor_identities
    where {{ national_id_is_valid('national_id') }}
),

linked as (
    select
        consented_views.view_id,
        visitor_persons.person_id,
        consented_views.page_path,
        consented_views.viewed_at,
        consented_views.delivered_on
    from consented_views
    inner join visitor_persons
        on consented_views.visitor_id = visitor_persons.visitor_id
)

select * from linked
