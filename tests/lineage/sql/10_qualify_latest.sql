-- Latest event per person: QUALIFY filters on a window; its partition and order columns
-- are dataset-level FILTER.
-- expect: national_id <- privacy.consents.national_id DIRECT/IDENTITY
-- expect: group_sharing <- privacy.consents.group_sharing DIRECT/IDENTITY
-- expect: * <- privacy.consents.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.consents.event_time INDIRECT/FILTER restricts
select national_id, group_sharing
from privacy.consents
qualify row_number() over (partition by national_id order by event_time desc) = 1
