-- A join member none of whose columns is read still decides how many rows there are (a cross
-- join multiplies them, an empty one removes all): a dataset-level JOIN from every column of it
-- (none is read), never silent. A comma join is a cross join.
-- columns: email, customer_no
-- expect: email <- bank.customers.email DIRECT/IDENTITY
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: * <- bank.customers.customer_no INDIRECT/FILTER restricts
-- expect: * <- markets.holdings.custody_account_no INDIRECT/JOIN
-- expect: * <- markets.holdings.isin INDIRECT/JOIN
-- expect: * <- markets.holdings.market_value INDIRECT/JOIN
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN
select c.email, k.customer_no
from bank.customers as c
cross join markets.holdings as h,
    bank.customers as k
where k.customer_no = c.customer_no
