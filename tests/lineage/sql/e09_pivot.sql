-- PIVOT is not supported: it fails closed with what to write instead.
-- error: PIVOT
select * from bank.accounts pivot (sum(balance) for product_code in ('current', 'savings'))
