-- GROUP BY ALL groups by every output that is not an aggregate.
-- columns: postcode, decade, n
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: decade <- bank.customers.birth_date DIRECT/TRANSFORMATION
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
-- expect: * <- bank.customers.birth_date INDIRECT/GROUP_BY
select postcode, year(birth_date) // 10 as decade, count(*) as n
from bank.customers
group by all
