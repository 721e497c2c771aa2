-- A renamed column stays IDENTITY through any number of CTEs and derived tables.
-- columns: id, given
-- expect: id <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: given <- bank.customers.first_name DIRECT/IDENTITY
with c as (select customer_no as id, first_name from bank.customers),
d as (select id, first_name as fn from c)
select x.id, x.fn as given from (select * from d) as x
