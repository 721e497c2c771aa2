-- HAVING filters groups: dataset-level FILTER; count(*) reads no column.
-- columns: postcode, n
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
-- expect: * <- bank.customers.birth_date INDIRECT/FILTER restricts
select postcode, count(*) as n
from bank.customers
group by postcode
having min(birth_date) < date '2000-01-01'
