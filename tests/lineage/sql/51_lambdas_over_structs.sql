-- Lambdas over lists: a parameter is not a column, even when it is named like one (here
-- product_code and national_id), and it never swallows the outer column of that name; two
-- parameters (element, index); field access on a struct element; list comprehensions.
-- columns: isins, coded, numbered, expensive, first_lot
-- expect: isins <- markets.positions.lots DIRECT/TRANSFORMATION
-- expect: coded <- bank.accounts.product_code DIRECT/TRANSFORMATION
-- expect: coded <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: numbered <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: expensive <- markets.positions.lots DIRECT/TRANSFORMATION
-- expect: first_lot <- markets.positions.lots DIRECT/TRANSFORMATION
-- expect: * <- bank.accounts.customer_no INDIRECT/JOIN restricts
-- expect: * <- markets.positions.national_id INDIRECT/JOIN restricts
select
    list_transform(p.lots, x -> x.isin) as isins,
    list_transform(a.tags, product_code -> product_code || a.product_code) as coded,
    list_transform(a.tags, (t, i) -> t || i) as numbered,
    [l.price for l in p.lots if l.quantity > 0] as expensive,
    list_filter(p.lots, national_id -> national_id.price > 0)[1] as first_lot
from markets.positions as p
join bank.accounts as a on a.customer_no = p.national_id
