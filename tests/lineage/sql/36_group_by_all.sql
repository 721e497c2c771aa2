-- GROUP BY ALL groups by every output that is not an aggregate.
-- columns: postcode, decade, n
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: decade <- bank.customers.birth_date DIRECT/TRANSFORMATION
-- expect: n <- bank.customers.birth_date DIRECT/AGGREGATION
-- expect: n <- bank.customers.customer_no DIRECT/AGGREGATION
-- expect: n <- bank.customers.email DIRECT/AGGREGATION
-- expect: n <- bank.customers.first_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.last_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.national_id DIRECT/AGGREGATION
-- expect: n <- bank.customers.postcode DIRECT/AGGREGATION
-- expect: * <- bank.customers.birth_date INDIRECT/GROUP_BY
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
select postcode, year(birth_date) // 10 as decade, count(*) as n
from bank.customers
group by all
