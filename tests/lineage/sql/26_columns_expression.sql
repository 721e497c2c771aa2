-- DuckDB COLUMNS(...) expands from the schema like *: a regex, a list of names, or * with
-- EXCLUDE, also inside an expression.
-- columns: national_id, first_name, last_name
-- expect: national_id <- bank.customers.national_id DIRECT/IDENTITY
-- expect: first_name <- bank.customers.first_name DIRECT/IDENTITY
-- expect: last_name <- bank.customers.last_name DIRECT/IDENTITY
select columns('name|national') from bank.customers
