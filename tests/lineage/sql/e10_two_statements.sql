-- Lineage reads one query.
-- error: expected one SQL statement
select customer_no from bank.customers; select national_id from privacy.consents
