-- Window functions: PARTITION BY / ORDER BY are WINDOW for that column only (also through
-- a named window); an aggregate over a window is AGGREGATION; row_number has no direct input.
-- expect: customer_no <- bank.accounts.customer_no DIRECT/IDENTITY
-- expect: rn <- bank.accounts.customer_no INDIRECT/WINDOW
-- expect: rn <- bank.accounts.opened_on INDIRECT/WINDOW
-- expect: running <- bank.accounts.balance DIRECT/AGGREGATION
-- expect: running <- bank.accounts.customer_no INDIRECT/WINDOW
-- expect: running <- bank.accounts.opened_on INDIRECT/WINDOW
-- expect: previous <- bank.accounts.balance DIRECT/TRANSFORMATION
-- expect: previous <- bank.accounts.product_code INDIRECT/WINDOW
-- expect: named <- bank.accounts.account_no DIRECT/AGGREGATION
-- expect: named <- bank.accounts.product_code INDIRECT/WINDOW
select
    customer_no,
    row_number() over (partition by customer_no order by opened_on) as rn,
    sum(balance) over (partition by customer_no order by opened_on) as running,
    lag(balance) over (order by product_code) as previous,
    count(account_no) over w as named
from bank.accounts
window w as (partition by product_code)
