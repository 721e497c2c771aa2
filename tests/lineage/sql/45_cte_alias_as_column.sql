-- A CTE or derived table's alias used as a column is its row: every output column of it, with
-- its own lineage (here an aggregate and a filter of the CTE).
-- columns: totals, pick
-- expect: totals <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: totals <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: pick <- asset_management.fund_holdings.fund_id DIRECT/TRANSFORMATION
-- expect: pick <- asset_management.fund_holdings.national_id DIRECT/TRANSFORMATION
-- expect: pick <- asset_management.fund_holdings.units DIRECT/TRANSFORMATION
-- expect: pick <- asset_management.fund_holdings.value DIRECT/TRANSFORMATION
-- expect: * <- markets.holdings.isin INDIRECT/FILTER restricts
-- expect: * <- markets.holdings.national_id INDIRECT/GROUP_BY
with totals as (
    select national_id, sum(market_value) as total
    from markets.holdings
    where isin is not null
    group by national_id
)
select totals, (select p from asset_management.fund_holdings as p limit 1) as pick
from totals
