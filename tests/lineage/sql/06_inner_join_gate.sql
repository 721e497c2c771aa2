-- The same gate as an inner join: the CTE's filter restricts the outer rows.
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: market_value <- markets.holdings.market_value DIRECT/IDENTITY
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
-- expect: * <- privacy.consents.national_id INDIRECT/JOIN restricts
-- expect: * <- privacy.consents.group_sharing INDIRECT/FILTER restricts
with consenting as (
    select national_id from privacy.consents where group_sharing
)
select h.national_id, h.market_value
from markets.holdings as h
join consenting as c on c.national_id = h.national_id
