-- A CTE with two columns of the same name: a reference to that name is ambiguous.
-- error: ambiguous
with both as (
    select c.customer_no, a.customer_no from bank.customers as c
    join bank.accounts as a on a.customer_no = c.customer_no
)
select both.customer_no from both
