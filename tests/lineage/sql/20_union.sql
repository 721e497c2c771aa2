-- UNION ALL by position: column i of the result comes from column i of every branch; the
-- branches' filters shape the result, but restrict its rows only where every branch applies
-- them (a row comes from one branch).
-- columns: national_id, amount
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: national_id <- asset_management.fund_holdings.national_id DIRECT/IDENTITY
-- expect: amount <- markets.holdings.market_value DIRECT/IDENTITY
-- expect: amount <- asset_management.fund_holdings.value DIRECT/IDENTITY
-- expect: * <- asset_management.fund_holdings.units INDIRECT/FILTER
select national_id, market_value as amount from markets.holdings
union all
select national_id, value from asset_management.fund_holdings where units > 0
