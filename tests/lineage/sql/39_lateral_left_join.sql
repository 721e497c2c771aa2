-- A LEFT JOIN LATERAL subquery: its correlated filter does not restrict the outer rows.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: top_value <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER
-- expect: * <- bank.customers.national_id INDIRECT/FILTER
select c.customer_no, l.top_value
from bank.customers as c
left join lateral (
    select max(h.market_value) as top_value
    from markets.holdings as h
    where h.national_id = c.national_id
) as l on true
