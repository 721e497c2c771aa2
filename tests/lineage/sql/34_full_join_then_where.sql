-- FULL JOIN: neither side's join columns restrict; a WHERE on the joined result does.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: market_value <- markets.holdings.market_value DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/JOIN
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN
-- expect: * <- markets.holdings.market_value INDIRECT/FILTER restricts
select c.customer_no, h.market_value
from bank.customers as c
full join markets.holdings as h on h.national_id = c.national_id
where h.market_value > 0
