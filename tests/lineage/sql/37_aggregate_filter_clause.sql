-- An aggregate's FILTER (WHERE ...) decides which rows feed that column only: CONDITIONAL.
-- expect: consenting <- asset_management.fund_holdings.fund_id DIRECT/AGGREGATION
-- expect: consenting <- asset_management.fund_holdings.national_id DIRECT/AGGREGATION
-- expect: consenting <- asset_management.fund_holdings.units DIRECT/AGGREGATION
-- expect: consenting <- asset_management.fund_holdings.value DIRECT/AGGREGATION
-- expect: consenting <- privacy.consents.event_time DIRECT/AGGREGATION
-- expect: consenting <- privacy.consents.group_sharing DIRECT/AGGREGATION
-- expect: consenting <- privacy.consents.national_id DIRECT/AGGREGATION
-- expect: consenting <- privacy.consents.group_sharing INDIRECT/CONDITIONAL
-- expect: value_held <- asset_management.fund_holdings.value DIRECT/AGGREGATION
-- expect: value_held <- asset_management.fund_holdings.units INDIRECT/CONDITIONAL
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/JOIN restricts
-- expect: * <- privacy.consents.national_id INDIRECT/JOIN restricts
select
    count(*) filter (where k.group_sharing) as consenting,
    sum(f.value) filter (where f.units > 0) as value_held
from privacy.consents as k
join asset_management.fund_holdings as f on f.national_id = k.national_id
