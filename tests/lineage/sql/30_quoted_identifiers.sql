-- Quoted identifiers as dbt-duckdb writes them resolve case-insensitively (DuckDB); an alias
-- keeps its case as written, as DuckDB names the column.
-- columns: ID
-- expect: ID <- bank.customers.customer_no DIRECT/IDENTITY
select "C"."Customer_No" as "ID" from "bank"."customers" as "C"
