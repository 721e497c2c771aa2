-- The issue's case: customers filtered by an IN subquery over fund holdings have lineage
-- from asset management, with the subquery's own filter.
-- expect: customer_no <- bank.customers.customer_no DIRECT/IDENTITY
-- expect: * <- bank.customers.national_id INDIRECT/FILTER restricts
-- expect: * <- asset_management.fund_holdings.national_id INDIRECT/FILTER restricts
-- expect: * <- asset_management.fund_holdings.value INDIRECT/FILTER restricts
select customer_no
from bank.customers
where national_id in (select national_id from asset_management.fund_holdings where value > 0)
