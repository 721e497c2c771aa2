-- Struct field access (s.field, s['field'], struct_extract) and UNNEST of a list of structs
-- transform the struct column; the unnested list decides the row count (FILTER).
-- columns: isin, value, extracted, lot
-- expect: isin <- markets.positions.detail DIRECT/TRANSFORMATION
-- expect: value <- markets.positions.detail DIRECT/TRANSFORMATION
-- expect: extracted <- markets.positions.detail DIRECT/TRANSFORMATION
-- expect: lot <- markets.positions.lots DIRECT/TRANSFORMATION
-- expect: * <- markets.positions.lots INDIRECT/FILTER
select
    p.detail.isin as isin,
    p.detail['market_value'] as value,
    struct_extract(p.detail, 'isin') as extracted,
    unnest(p.lots) as lot
from markets.positions as p
