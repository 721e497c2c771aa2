-- DuckDB's PIVOT statement in FROM fails closed like PIVOT (...) does.
-- error: PIVOT / UNPIVOT is not supported
select * from (pivot bank.accounts on product_code using sum(balance))
