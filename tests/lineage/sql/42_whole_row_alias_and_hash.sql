-- A bare relation alias selected as a column is its row as a STRUCT; a plain hash of a row
-- masks it (not keyed); a cast of it is a TRANSFORMATION.
-- columns: payload, fingerprint, as_text
-- expect: payload <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: payload <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: payload <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: payload <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: fingerprint <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION masking
-- expect: fingerprint <- markets.holdings.isin DIRECT/TRANSFORMATION masking
-- expect: fingerprint <- markets.holdings.market_value DIRECT/TRANSFORMATION masking
-- expect: fingerprint <- markets.holdings.national_id DIRECT/TRANSFORMATION masking
-- expect: as_text <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: as_text <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: as_text <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: as_text <- markets.holdings.national_id DIRECT/TRANSFORMATION
select h as payload, hash(h) as fingerprint, cast(h as varchar) as as_text
from markets.holdings as h
