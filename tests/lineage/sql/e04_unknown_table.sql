-- A relation the schema does not know fails closed (a hard-coded name instead of ref()).
-- error: bank.nope is not in the schema
select x.customer_no from bank.nope as x
