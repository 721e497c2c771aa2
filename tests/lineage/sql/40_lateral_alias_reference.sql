-- DuckDB lets a select item use an earlier item's alias: it resolves to that item's inputs.
-- expect: full_name <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: full_name <- bank.customers.last_name DIRECT/TRANSFORMATION
-- expect: greeting <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: greeting <- bank.customers.last_name DIRECT/TRANSFORMATION
select first_name || ' ' || last_name as full_name, 'Dear ' || full_name as greeting
from bank.customers
