-- EXISTS over a subquery that has no condition of its own depends on which rows it has: its
-- columns FILTER the outer query (without restricting rows as a gate would).
-- columns: email
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: * <- asset_management.fund_holdings.units INDIRECT/FILTER restricts
-- expect: * <- markets.holdings.custody_account_no INDIRECT/FILTER
-- expect: * <- markets.holdings.isin INDIRECT/FILTER
-- expect: * <- markets.holdings.market_value INDIRECT/FILTER
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER
select c.email
from bank.customers as c
where exists (select 1 from markets.holdings as h)
    and exists (select * from asset_management.fund_holdings as f where f.units > 0)
