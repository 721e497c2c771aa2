-- GROUP BY CUBE / ROLLUP group by each of their columns; grouping() tells the grouping set,
-- not a value of its columns (column-level INDIRECT GROUP_BY);
-- count(*) counts whole rows.
-- columns: postcode, product_code, level, n
-- expect: postcode <- bank.customers.postcode DIRECT/IDENTITY
-- expect: product_code <- bank.accounts.product_code DIRECT/IDENTITY
-- expect: level <- bank.accounts.product_code INDIRECT/GROUP_BY
-- expect: level <- bank.customers.postcode INDIRECT/GROUP_BY
-- expect: n <- bank.accounts.account_no DIRECT/AGGREGATION
-- expect: n <- bank.accounts.balance DIRECT/AGGREGATION
-- expect: n <- bank.accounts.customer_no DIRECT/AGGREGATION
-- expect: n <- bank.accounts.opened_on DIRECT/AGGREGATION
-- expect: n <- bank.accounts.product_code DIRECT/AGGREGATION
-- expect: n <- bank.accounts.tags DIRECT/AGGREGATION
-- expect: n <- bank.customers.birth_date DIRECT/AGGREGATION
-- expect: n <- bank.customers.customer_no DIRECT/AGGREGATION
-- expect: n <- bank.customers.email DIRECT/AGGREGATION
-- expect: n <- bank.customers.first_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.last_name DIRECT/AGGREGATION
-- expect: n <- bank.customers.national_id DIRECT/AGGREGATION
-- expect: n <- bank.customers.postcode DIRECT/AGGREGATION
-- expect: * <- bank.accounts.customer_no INDIRECT/JOIN restricts
-- expect: * <- bank.accounts.product_code INDIRECT/GROUP_BY
-- expect: * <- bank.customers.customer_no INDIRECT/JOIN restricts
-- expect: * <- bank.customers.postcode INDIRECT/GROUP_BY
select c.postcode, a.product_code, grouping(c.postcode, a.product_code) as level, count(*) as n
from bank.customers as c
join bank.accounts as a on a.customer_no = c.customer_no
group by cube (c.postcode, a.product_code)
