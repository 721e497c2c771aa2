-- t.* over a join, and a * over a CTE of a join: DuckDB renames a repeated output name.
-- columns: account_no, customer_no, product_code, balance, opened_on, tags, customer_no_1
-- expect: account_no <- bank.accounts.account_no DIRECT/IDENTITY
-- expect: customer_no <- bank.accounts.customer_no DIRECT/IDENTITY
-- expect: product_code <- bank.accounts.product_code DIRECT/IDENTITY
-- expect: balance <- bank.accounts.balance DIRECT/IDENTITY
-- expect: opened_on <- bank.accounts.opened_on DIRECT/IDENTITY
-- expect: tags <- bank.accounts.tags DIRECT/IDENTITY
-- expect: customer_no_1 <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: * <- bank.accounts.customer_no INDIRECT/JOIN restricts
-- expect: * <- bank.customers.customer_no INDIRECT/JOIN restricts
select a.*, c.customer_no
from bank.accounts as a
join bank.customers as c on c.customer_no = a.customer_no
