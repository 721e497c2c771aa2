-- ORDER BY a column, an output alias or a position, with LIMIT: SORT.
-- expect: customer_no <- bank.accounts.customer_no DIRECT/IDENTITY
-- expect: amount <- bank.accounts.balance DIRECT/TRANSFORMATION
-- expect: * <- bank.accounts.balance INDIRECT/SORT
-- expect: * <- bank.accounts.opened_on INDIRECT/SORT
-- expect: * <- bank.accounts.customer_no INDIRECT/SORT
select customer_no, balance * 100 as amount
from bank.accounts
order by amount desc, opened_on, 1
limit 10
