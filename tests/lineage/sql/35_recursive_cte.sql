-- WITH RECURSIVE: the recursive step's self-reference widens until nothing changes, so each
-- column depends on every column that can rotate into it. The step's own filter does not
-- restrict the base rows; the base's filter reaches every row.
-- columns: a, b
-- expect: a <- bank.customers.customer_no DIRECT/TRANSFORMATION
-- expect: a <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: b <- bank.customers.customer_no DIRECT/TRANSFORMATION
-- expect: b <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: * <- bank.customers.postcode INDIRECT/FILTER restricts
-- expect: * <- bank.customers.customer_no INDIRECT/FILTER
-- expect: * <- bank.customers.first_name INDIRECT/FILTER
with recursive r (a, b, depth) as (
    select customer_no, first_name, 0 from bank.customers where postcode = '0001'
    union all
    select upper(b), a, depth + 1 from r where depth < 3 and a is not null
)
select a, b from r
