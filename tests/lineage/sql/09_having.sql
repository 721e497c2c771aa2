-- HAVING filters groups: dataset-level FILTER; count(*) counts whole rows: AGGREGATION of
-- every column of the FROM clause.
-- columns: postcode, n
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: n <- bank.customers.birth_date DIRECT/AGGREGATION
-- expect: n <- bank.customers.customer_no DIRECT/AGGREGATION
-- expect: n <- bank.customers.email DIRECT/AGGREGATION
-- expect: n <- bank.customers.first_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.last_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.national_id DIRECT/AGGREGATION
-- expect: n <- bank.customers.postcode DIRECT/AGGREGATION
-- expect: * <- bank.customers.birth_date INDIRECT/FILTER restricts
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
select postcode, count(*) as n
from bank.customers
group by postcode
having min(birth_date) < date '2000-01-01'
