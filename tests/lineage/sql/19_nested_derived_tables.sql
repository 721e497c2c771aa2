-- Derived tables at any depth: filters of every level propagate to the outer dataset level.
-- expect: id <- bank.accounts.account_no DIRECT/IDENTITY
-- expect: b <- bank.accounts.balance DIRECT/TRANSFORMATION
-- expect: * <- bank.accounts.product_code INDIRECT/FILTER restricts
-- expect: * <- bank.accounts.opened_on INDIRECT/FILTER restricts
-- expect: * <- bank.accounts.balance INDIRECT/FILTER restricts
select id, b
from (
    select id, b
    from (
        select account_no as id, balance * 1.0 as b
        from (select * from bank.accounts where product_code = 'savings') as l3
        where opened_on > date '2020-01-01'
    ) as l2
) as l1
where b > 0
