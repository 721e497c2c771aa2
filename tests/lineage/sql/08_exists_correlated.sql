-- Correlated EXISTS / NOT EXISTS: every column inside (its joins and filters, the outer
-- column it correlates on) is a dataset-level FILTER; EXISTS ignores the select list.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.objections.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.objections.objection_type INDIRECT/FILTER restricts
-- expect: * <- privacy.consents.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.consents.group_sharing INDIRECT/FILTER restricts
-- expect: * <- markets.holdings.national_id INDIRECT/FILTER restricts
select c.customer_no
from bank.customers as c
where not exists (
        select 1 from privacy.objections as o
        where o.national_id = c.national_id and o.objection_type = 'direct_marketing'
    )
    and exists (
        select *
        from privacy.consents as k
        join markets.holdings as h on h.national_id = k.national_id
        where k.national_id = c.national_id and k.group_sharing
    )
