-- The value of arg_max / max_by / an aggregate ordered within (string_agg ... ORDER BY, list
-- ... ORDER BY, first ... ORDER BY) is AGGREGATION; the ordering column only decides which
-- value or which order: a column-level INDIRECT SORT. In WITHIN GROUP (ORDER BY v) the
-- ordered column is the aggregated value.
-- columns: national_id, top_isin, top_isin_too, isins, values_in_order, first_isin, median
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: top_isin <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: top_isin <- markets.holdings.market_value INDIRECT/SORT
-- expect: top_isin_too <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: top_isin_too <- markets.holdings.market_value INDIRECT/SORT
-- expect: isins <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: isins <- markets.holdings.market_value INDIRECT/SORT
-- expect: values_in_order <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: values_in_order <- markets.holdings.isin INDIRECT/SORT
-- expect: first_isin <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: first_isin <- markets.holdings.market_value INDIRECT/SORT
-- expect: median <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: * <- markets.holdings.national_id INDIRECT/GROUP_BY
select
    national_id,
    arg_max(isin, market_value) as top_isin,
    max_by(isin, market_value) as top_isin_too,
    string_agg(isin, ',' order by market_value desc) as isins,
    list(market_value order by isin) as values_in_order,
    first(isin order by market_value) as first_isin,
    percentile_cont(0.5) within group (order by market_value) as median
from markets.holdings
group by national_id
