{{ config(meta={'dagster': {'asset_key': ['marketing_campaign_audience']}}) }}

-- No person appears in a marketing output they objected to: direct marketing excludes from all
-- of them, profiling from features, scores and campaign audiences, social matching from the
-- social-platform contact list. Returns output and person_id of every breach.

with objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

marketing_persons as (
    select person_id, 'marketing_scoring_features' as output, true as is_profiling
    from {{ ref('marketing_scoring_features') }}
    union all
    select person_id, 'marketing_propensity_scores' as output, true as is_profiling
    from {{ ref('marketing_propensity_scores') }}
    union all
    select person_id, 'marketing_campaign_audience' as output, true as is_profiling
    from {{ ref('marketing_campaign_audience') }}
    union all
    select person_id, 'marketing_social_matching_audience' as output, false as is_profiling
    from {{ ref('marketing_social_matching_audience') }}
)

select
    marketing_persons.output,
    marketing_persons.person_id
from marketing_persons
inner join objections
    on marketing_persons.person_id = objections.person_id
where objections.objects_direct_marketing
    or (marketing_persons.is_profiling and objections.objects_profiling)
    or (not marketing_persons.is_profiling and objections.objects_social_matching)
