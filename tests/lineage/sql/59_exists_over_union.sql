-- EXISTS over a UNION whose branches have no condition of their own: the branches' rows
-- decide, so their columns FILTER the outer query.
-- columns: email
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: * <- asset_management.fund_holdings.fund_id INDIRECT/FILTER
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/FILTER
-- expect: * <- asset_management.fund_holdings.units INDIRECT/FILTER
-- expect: * <- asset_management.fund_holdings.value INDIRECT/FILTER
-- expect: * <- markets.holdings.custody_account_no INDIRECT/FILTER
-- expect: * <- markets.holdings.isin INDIRECT/FILTER
-- expect: * <- markets.holdings.market_value INDIRECT/FILTER
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER
select c.email
from bank.customers as c
where exists (
    select 1 from markets.holdings
    union all
    select 1 from asset_management.fund_holdings
)
