-- Propensity scores are from today: the table is replaced every run and keeps no history.

select
    person_id,
    scenario,
    scored_on
from {{ ref('marketing_propensity_scores') }}
where scored_on <> current_date
