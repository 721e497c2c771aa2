-- An unqualified column two joined tables have is ambiguous: it fails closed.
-- error: column national_id (line 3, column 18) cannot be resolved: no table of the query has it, or several have it
select national_id
from privacy.consents as k
join privacy.objections as o on o.national_id = k.national_id
