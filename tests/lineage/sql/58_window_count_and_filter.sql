-- count(*) over a window counts the whole rows of the partition; an aggregate's FILTER in a
-- window is CONDITIONAL; row_number() over () numbers the rows of its only source.
-- columns: national_id, per_person, big_total, rn
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: per_person <- markets.holdings.custody_account_no DIRECT/AGGREGATION
-- expect: per_person <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: per_person <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: per_person <- markets.holdings.national_id DIRECT/AGGREGATION
-- expect: per_person <- markets.holdings.national_id INDIRECT/WINDOW
-- expect: big_total <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: big_total <- markets.holdings.market_value INDIRECT/CONDITIONAL
-- expect: big_total <- markets.holdings.national_id INDIRECT/WINDOW
-- expect: rn <- markets.holdings.custody_account_no INDIRECT/FILTER
-- expect: rn <- markets.holdings.isin INDIRECT/FILTER
-- expect: rn <- markets.holdings.market_value INDIRECT/FILTER
-- expect: rn <- markets.holdings.national_id INDIRECT/FILTER
select
    national_id,
    count(*) over (partition by national_id) as per_person,
    sum(market_value) filter (where market_value > 1000) over (partition by national_id)
        as big_total,
    row_number() over () as rn
from markets.holdings
