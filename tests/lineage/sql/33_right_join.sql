-- RIGHT JOIN: the left side becomes optional, so its filters no longer restrict the rows;
-- the right side's still do.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: national_id <- privacy.consents.national_id DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/JOIN
-- expect: * <- privacy.consents.national_id INDIRECT/JOIN
-- expect: * <- bank.customers.postcode INDIRECT/FILTER
-- expect: * <- privacy.consents.group_sharing INDIRECT/FILTER restricts
select c.customer_no, k.national_id
from (select * from bank.customers where postcode = '0001') as c
right join (select * from privacy.consents where group_sharing) as k
    on k.national_id = c.national_id
