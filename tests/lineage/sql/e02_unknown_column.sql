-- A column no source has fails closed.
-- error: column no_such_column (line 3, column 21) cannot be resolved: no table
select no_such_column from bank.customers
