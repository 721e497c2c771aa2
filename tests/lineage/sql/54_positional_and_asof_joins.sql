-- ASOF joins join on their ON condition (inequality included); a POSITIONAL JOIN pairs rows by
-- position, padding the shorter side with NULLs: a dataset-level JOIN from each side, from
-- the columns read of it, restricting no rows.
-- columns: email, market_value, fund_value
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: market_value <- markets.holdings.market_value DIRECT/IDENTITY
-- expect: fund_value <- asset_management.fund_holdings.value DIRECT/IDENTITY
-- expect: * <- asset_management.fund_holdings.value INDIRECT/JOIN
-- expect: * <- bank.customers.national_id INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.market_value INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
select c.email, h.market_value, f.value as fund_value
from bank.customers as c
asof join markets.holdings as h
    on h.national_id = c.national_id and h.market_value >= 0
positional join asset_management.fund_holdings as f
