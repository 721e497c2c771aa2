-- The issue's case: a marketing model that joins to securities holdings has lineage from
-- securities although it selects no holdings column.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/JOIN restricts
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
select c.customer_no, c.email
from bank.customers as c
join markets.holdings as h on h.national_id = c.national_id
