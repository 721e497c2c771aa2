-- grouping(c) tells which grouping set a row belongs to, not a value of c: column-level
-- INDIRECT GROUP_BY. An ordered aggregate's ordering column decides the order or the pick,
-- not the value: column-level INDIRECT SORT.
-- columns: national_id, g, isins, top
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: g <- markets.holdings.national_id INDIRECT/GROUP_BY
-- expect: isins <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: isins <- markets.holdings.market_value INDIRECT/SORT
-- expect: top <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: top <- markets.holdings.market_value INDIRECT/SORT
-- expect: * <- markets.holdings.national_id INDIRECT/GROUP_BY
select
    national_id,
    grouping(national_id) as g,
    string_agg(isin, ',' order by market_value) as isins,
    arg_max(isin, market_value) as top
from markets.holdings
group by rollup (national_id)
