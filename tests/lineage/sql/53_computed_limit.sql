-- LIMIT / OFFSET with ORDER BY: the order is a SORT; a LIMIT computed from data decides how
-- many rows remain: FILTER, not restricting like a WHERE.
-- columns: email
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: * <- bank.customers.birth_date INDIRECT/SORT
-- expect: * <- markets.holdings.custody_account_no INDIRECT/FILTER
-- expect: * <- markets.holdings.isin INDIRECT/FILTER
-- expect: * <- markets.holdings.market_value INDIRECT/FILTER
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER
select c.email
from bank.customers as c
order by c.birth_date
limit (select count(*) from markets.holdings) offset 1
