-- SQL that does not parse fails closed.
-- error: does not parse
select customer_no from bank.customers where
