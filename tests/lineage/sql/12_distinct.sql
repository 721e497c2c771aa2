-- DISTINCT groups by every output column.
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: initial <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
-- expect: * <- bank.customers.first_name INDIRECT/GROUP_BY
select distinct postcode, left(first_name, 1) as initial from bank.customers
