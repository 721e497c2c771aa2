-- SEMI and ANTI joins remove rows: their ON columns restrict.
-- expect: national_id <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: * <- markets.holdings.national_id INDIRECT/JOIN restricts
-- expect: * <- privacy.consents.national_id INDIRECT/JOIN restricts
-- expect: * <- privacy.consents.group_sharing INDIRECT/JOIN restricts
-- expect: * <- privacy.objections.national_id INDIRECT/JOIN restricts
select h.national_id
from markets.holdings as h
semi join privacy.consents as k on k.national_id = h.national_id and k.group_sharing
anti join privacy.objections as o on o.national_id = h.national_id
