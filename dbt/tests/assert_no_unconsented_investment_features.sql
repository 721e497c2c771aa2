{{ config(meta={'dagster': {'asset_key': ['marketing_scoring_features']}}) }}

-- No person without a current group-sharing consent has a securities- or fund-derived value in
-- a marketing or model-development output. Consent state is keyed from the event log: a person
-- without a granted latest event (no event at all included) has not consented. The
-- model-development pseudonym is recomputed from the consenting persons' person_id. Returns
-- output and the person's key (person_id, or the pseudonym) of every breach.

with consents as (
    select * from {{ ref('int_group_sharing_consents_resolved') }}
),

consenting as (
    select
        person_id,
        {{ keyed_hash(dbt.concat(["'model_development:'", 'person_id'])) }} as pseudonym
    from consents
    where has_group_sharing_consent
),

scoring_breaches as (
    select 'marketing_scoring_features' as output, features.person_id as person_key
    from {{ ref('marketing_scoring_features') }} as features
    left join consenting
        on features.person_id = consenting.person_id
    where consenting.person_id is null
        and (
            features.securities_value_band is not null
            or features.fund_value_band is not null
            or features.fund_count is not null
        )
),

model_development_breaches as (
    select 'model_development_dataset' as output, dataset.pseudonym as person_key
    from {{ ref('model_development_dataset') }} as dataset
    left join consenting
        on dataset.pseudonym = consenting.pseudonym
    where consenting.pseudonym is null
        and (
            dataset.securities_value_band is not null
            or dataset.fund_value_band is not null
            or dataset.fund_count is not null
        )
)

select * from scoring_breaches
union all
select * from model_development_breaches
