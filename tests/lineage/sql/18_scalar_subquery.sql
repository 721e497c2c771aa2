-- A scalar subquery in the select list: its selected column is DIRECT into that column, its
-- filters are INDIRECT for that column only (they do not shape the outer rows).
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: securities <- markets.holdings.market_value DIRECT/AGGREGATION
-- expect: securities <- markets.holdings.national_id INDIRECT/FILTER restricts
-- expect: securities <- markets.holdings.isin INDIRECT/FILTER restricts
-- expect: securities <- bank.customers.national_id INDIRECT/FILTER restricts
select
    c.customer_no,
    (
        select sum(h.market_value) from markets.holdings as h
        where h.national_id = c.national_id and h.isin like 'NO%'
    ) as securities
from bank.customers as c
