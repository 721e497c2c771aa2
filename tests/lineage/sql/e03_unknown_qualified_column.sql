-- A qualified column its table does not have fails closed.
-- error: nope
select c.nope from bank.customers as c
