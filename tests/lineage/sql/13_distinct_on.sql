-- DISTINCT ON groups by its expressions; ORDER BY (also by output alias) sorts.
-- expect: national_id <- privacy.consents.national_id DIRECT/IDENTITY
-- expect: consented <- privacy.consents.group_sharing DIRECT/IDENTITY
-- expect: * <- privacy.consents.national_id INDIRECT/GROUP_BY
-- expect: * <- privacy.consents.national_id INDIRECT/SORT
-- expect: * <- privacy.consents.event_time INDIRECT/SORT
select distinct on (national_id) national_id, group_sharing as consented
from privacy.consents
order by national_id, event_time desc
