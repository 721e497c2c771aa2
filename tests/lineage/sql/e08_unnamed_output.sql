-- An output column without a name cannot be tagged: it fails closed.
-- error: has no name; give it an alias
select upper(email) from bank.customers
