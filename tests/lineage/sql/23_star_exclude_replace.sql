-- * EXCLUDE / REPLACE expand from the schema.
-- columns: customer_no, national_id, first_name, last_name, postcode, birth_date
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: national_id <- bank.customers.national_id DIRECT/IDENTITY
-- expect: first_name <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: last_name <- bank.customers.last_name DIRECT/IDENTITY
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: birth_date <- bank.customers.birth_date DIRECT/IDENTITY
select * exclude (email) replace (upper(first_name) as first_name) from bank.customers
