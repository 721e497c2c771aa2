-- An alias keeps its case as written, quoted or not (DuckDB resolves names case-insensitively
-- but a model's column is created with that case); a column reference, however spelt, takes
-- the source column's name.
-- columns: NationalId, Isin, market_value
-- expect: NationalId <- markets.holdings.national_id DIRECT/IDENTITY
-- expect: Isin <- markets.holdings.isin DIRECT/IDENTITY
-- expect: market_value <- markets.holdings.market_value DIRECT/IDENTITY
select national_id as "NationalId", isin as Isin, "Market_Value" from markets.holdings
