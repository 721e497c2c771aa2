-- Aggregates are AGGREGATION, also under a later transformation (TRANSFORMATION after
-- AGGREGATION is AGGREGATION); GROUP BY keys are IDENTITY outputs and dataset-level GROUP_BY.
-- columns: customer_no, total, rounded, n, products
-- expect: customer_no <- bank.accounts.customer_no DIRECT/IDENTITY
-- expect: total <- bank.accounts.balance DIRECT/AGGREGATION
-- expect: rounded <- bank.accounts.balance DIRECT/AGGREGATION
-- expect: n <- bank.accounts.account_no DIRECT/AGGREGATION
-- expect: n <- bank.accounts.balance DIRECT/AGGREGATION
-- expect: n <- bank.accounts.customer_no DIRECT/AGGREGATION
-- expect: n <- bank.accounts.opened_on DIRECT/AGGREGATION
-- expect: n <- bank.accounts.product_code DIRECT/AGGREGATION
-- expect: n <- bank.accounts.tags DIRECT/AGGREGATION
-- expect: products <- bank.accounts.product_code DIRECT/AGGREGATION
-- expect: * <- bank.accounts.customer_no INDIRECT/GROUP_BY
with per_customer as (
    select
        customer_no,
        sum(balance) as total,
        count(*) as n,
        string_agg(product_code, ',') as products
    from bank.accounts
    group by customer_no
)
select customer_no, total, round(total, 2) as rounded, n, products from per_customer
