-- Filtering on a window column of a derived table: the window's partition and order
-- columns become dataset-level FILTER of the outer query.
-- expect: national_id <- privacy.consents.national_id DIRECT/IDENTITY
-- expect: * <- privacy.consents.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.consents.event_time INDIRECT/FILTER restricts
select national_id
from (
    select
        national_id,
        row_number() over (partition by national_id order by event_time desc) as rn
    from privacy.consents
) as ranked
where rn = 1
