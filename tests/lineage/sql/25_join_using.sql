-- JOIN ... USING: the shared column is computed from both sides; the USING columns are JOIN.
-- expect: customer_no <- bank.accounts.customer_no DIRECT/TRANSFORMATION
-- expect: customer_no <- bank.customers.customer_no DIRECT/TRANSFORMATION
-- expect: balance <- bank.accounts.balance DIRECT/IDENTITY
-- expect: * <- bank.accounts.customer_no INDIRECT/JOIN restricts
-- expect: * <- bank.customers.customer_no INDIRECT/JOIN restricts
select customer_no, balance from bank.accounts join bank.customers using (customer_no)
