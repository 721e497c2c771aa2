-- DESCRIBE / SHOW are not queries.
-- error: expected a SELECT query
describe bank.customers
