-- INTERSECT: values from both branches; each branch filters the other.
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: national_id <- asset_management.fund_holdings.national_id DIRECT/IDENTITY
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER restricts
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/FILTER restricts
-- expect: * <- markets.holdings.national_id INDIRECT/GROUP_BY
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/GROUP_BY
select national_id from markets.holdings
intersect
select national_id from asset_management.fund_holdings
