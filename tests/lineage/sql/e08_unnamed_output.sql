-- An output column without a name inside a CTE or derived table fails closed: the database
-- names it after its SQL, and a reference to it (by name or through *) must carry that name.
-- error: has no name; give it an alias
with c as (select upper(email) from bank.customers) select * from c
