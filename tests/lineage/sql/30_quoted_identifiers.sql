-- Quoted identifiers as dbt-duckdb writes them resolve case-insensitively (DuckDB).
-- columns: id
-- expect: id <- bank.customers.customer_no DIRECT/IDENTITY
select "C"."Customer_No" as "ID" from "bank"."customers" as "C"
