-- A subquery in a CASE condition: every column of it is CONDITIONAL for that column only.
-- expect: email <- bank.customers.email DIRECT/TRANSFORMATION
-- expect: email <- bank.customers.national_id INDIRECT/CONDITIONAL
-- expect: email <- privacy.consents.national_id INDIRECT/CONDITIONAL
-- expect: email <- privacy.consents.group_sharing INDIRECT/CONDITIONAL
select
    case
        when exists (
            select 1 from privacy.consents as k
            where k.national_id = c.national_id and k.group_sharing
        ) then c.email
    end as email
from bank.customers as c
