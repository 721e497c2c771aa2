-- Inner join ON columns shape every row: dataset-level JOIN that can remove rows.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: balance <- bank.accounts.balance DIRECT/IDENTITY
-- expect: * <- bank.customers.customer_no INDIRECT/JOIN restricts
-- expect: * <- bank.accounts.customer_no INDIRECT/JOIN restricts
select c.customer_no, a.balance
from bank.customers as c
join bank.accounts as a on a.customer_no = c.customer_no
