-- The issue's case: a whole row used as a value (to_json of a table alias) depends on every
-- column of that row, TRANSFORMATION. A bare identifier is a column when one has that name
-- (DuckDB's rule), else the relation's row.
-- columns: email, j
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: j <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: j <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: j <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: j <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: * <- bank.customers.national_id INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
select c.email, to_json(h) as j
from bank.customers as c
join markets.holdings as h on h.national_id = c.national_id
