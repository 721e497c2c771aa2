-- VALUES lists and range() are constants: no source columns.
-- columns: customer_no, segment, n
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: * <- bank.customers.postcode INDIRECT/JOIN restricts
select c.customer_no, v.segment, r.range as n
from bank.customers as c
join (values ('0001', 'city'), ('5003', 'coast')) as v (postcode, segment)
    on v.postcode = c.postcode
cross join range(3) as r
