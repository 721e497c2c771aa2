-- A constant (or a value from outside the data) selected from a table has as many rows as it:
-- a FILTER from the columns the query reads of that table, into the
-- columns that have no other input from it (here national_id); it does not restrict rows, so
-- it proves no gate.
-- columns: one, holder
-- expect: one <- markets.holdings.national_id INDIRECT/FILTER
-- expect: holder <- markets.holdings.national_id DIRECT/IDENTITY
select 1 as one, h.national_id as holder from markets.holdings as h
