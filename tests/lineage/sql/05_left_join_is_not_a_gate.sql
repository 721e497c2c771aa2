-- A LEFT JOIN keeps every row of the left side: its ON columns, and the filters of the
-- joined side, do not restrict the rows (a fake consent gate).
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: market_value <- markets.holdings.market_value DIRECT/IDENTITY
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN
-- expect: * <- privacy.consents.national_id INDIRECT/JOIN
-- expect: * <- privacy.consents.group_sharing INDIRECT/FILTER
with consenting as (
    select national_id from privacy.consents where group_sharing
)
select h.national_id, h.market_value
from markets.holdings as h
left join consenting as c on c.national_id = h.national_id
