{{ config(meta={'dagster': {'asset_key': ['marketing_scoring_features']}}) }}

-- No person without a current group-sharing consent has a securities- or fund-derived value in
-- a marketing or model-development output. The model-development pseudonym is recomputed from
-- person_id to find the person. Returns output and person_id of every breach.

with consents as (
    select * from {{ ref('int_group_sharing_consents_resolved') }}
),

non_consenting as (
    select
        person_id,
        {{ keyed_hash(dbt.concat(["'model_development:'", 'person_id'])) }} as pseudonym
    from consents
    where not has_group_sharing_consent
),

scoring_breaches as (
    select 'marketing_scoring_features' as output, features.person_id
    from {{ ref('marketing_scoring_features') }} as features
    inner join non_consenting
        on features.person_id = non_consenting.person_id
    where features.securities_value_band is not null
        or features.fund_value_band is not null
        or features.fund_count is not null
),

model_development_breaches as (
    select 'model_development_dataset' as output, non_consenting.person_id
    from {{ ref('model_development_dataset') }} as dataset
    inner join non_consenting
        on dataset.pseudonym = non_consenting.pseudonym
    where dataset.securities_value_band is not null
        or dataset.fund_value_band is not null
        or dataset.fund_count is not null
)

select * from scoring_breaches
union all
select * from model_development_breaches
