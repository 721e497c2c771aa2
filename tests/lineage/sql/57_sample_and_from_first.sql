-- DuckDB's FROM-first syntax, TABLESAMPLE and USING SAMPLE: sampling picks rows at random,
-- with no column deciding which.
-- columns: email, isin
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: isin <- markets.holdings.isin DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
from bank.customers as c tablesample 10%
join (from markets.holdings using sample 50) as h on h.national_id = c.national_id
select c.email, h.isin
