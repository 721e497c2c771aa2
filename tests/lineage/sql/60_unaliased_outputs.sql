-- Output columns without an alias are named as DuckDB names them (its parser's rendering of
-- the expression: count(*) is count_star(), a keyword column is quoted); a column reference
-- keeps the source column's name.
-- columns: national_id, count_star(), sum(h."value"), max(units)
-- expect: national_id <- asset_management.fund_holdings.national_id DIRECT/IDENTITY
-- expect: count_star() <- asset_management.fund_holdings.fund_id DIRECT/AGGREGATION
-- expect: count_star() <- asset_management.fund_holdings.national_id DIRECT/AGGREGATION
-- expect: count_star() <- asset_management.fund_holdings.units DIRECT/AGGREGATION
-- expect: count_star() <- asset_management.fund_holdings.value DIRECT/AGGREGATION
-- expect: sum(h."value") <- asset_management.fund_holdings.value DIRECT/AGGREGATION
-- expect: max(units) <- asset_management.fund_holdings.units DIRECT/AGGREGATION
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/GROUP_BY
select h.national_id, count(*), sum(h.value), max(units)
from asset_management.fund_holdings as h
group by h.national_id
