-- EXCEPT: values come from the left branch; the right branch only removes rows (FILTER);
-- a distinct set operation groups by its columns.
-- expect: national_id <- privacy.consents.national_id DIRECT/IDENTITY
-- expect: * <- privacy.consents.group_sharing INDIRECT/FILTER restricts
-- expect: * <- privacy.consents.national_id INDIRECT/GROUP_BY
-- expect: * <- privacy.objections.national_id INDIRECT/FILTER restricts
-- expect: * <- privacy.objections.objection_type INDIRECT/FILTER
select national_id from privacy.consents where group_sharing
except
select national_id from privacy.objections where objection_type = 'profiling'
