-- A statement that is not a query has no output columns.
-- error: expected a SELECT query
delete from bank.customers where postcode = '0001'
