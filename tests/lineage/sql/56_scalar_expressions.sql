-- Expressions that only compute: IN lists, BETWEEN, COALESCE, map and struct literals,
-- TRY_CAST, json_extract, EXISTS in the select list (its columns FILTER that column only).
-- columns: in_list, between, email, as_map, as_struct, as_int, json_part, holds
-- expect: in_list <- bank.customers.postcode DIRECT/TRANSFORMATION
-- expect: between <- bank.customers.birth_date DIRECT/TRANSFORMATION
-- expect: email <- bank.customers.email DIRECT/TRANSFORMATION
-- expect: email <- bank.customers.last_name DIRECT/TRANSFORMATION
-- expect: as_map <- bank.customers.postcode DIRECT/TRANSFORMATION
-- expect: as_struct <- bank.customers.first_name DIRECT/TRANSFORMATION
-- expect: as_int <- bank.customers.customer_no DIRECT/TRANSFORMATION
-- expect: json_part <- bank.customers.email DIRECT/TRANSFORMATION
-- expect: holds <- bank.customers.national_id INDIRECT/FILTER restricts
-- expect: holds <- markets.holdings.national_id INDIRECT/FILTER restricts
select
    c.postcode in ('0001', '5003') as in_list,
    c.birth_date between date '1990-01-01' and date '1999-12-31' as between,
    coalesce(c.email, c.last_name) as email,
    map {'pc': c.postcode} as as_map,
    {'first': c.first_name} as as_struct,
    try_cast(c.customer_no as int) as as_int,
    json_extract(c.email, '$.a') as json_part,
    exists (select 1 from markets.holdings as h where h.national_id = c.national_id) as holds
from bank.customers as c
