-- Aggregates over a whole row (list(h), array_agg(h)) are AGGREGATION of every column.
-- columns: national_id, positions
-- expect: national_id <- bank.customers.national_id DIRECT/IDENTITY
-- expect: positions <- markets.holdings.custody_account_no DIRECT/AGGREGATION
-- expect: positions <- markets.holdings.isin DIRECT/AGGREGATION
-- expect: positions <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: positions <- markets.holdings.national_id DIRECT/AGGREGATION
-- expect: * <- bank.customers.national_id INDIRECT/GROUP_BY
-- expect: * <- bank.customers.national_id INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
select c.national_id, list(h) as positions
from bank.customers as c
join markets.holdings as h on h.national_id = c.national_id
group by c.national_id
