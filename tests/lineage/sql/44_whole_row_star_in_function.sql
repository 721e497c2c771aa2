-- alias.* inside a function or a struct / list / row constructor is the whole row; so is a bare
-- * inside a function (every row source of the scope).
-- columns: packed, as_row, as_list, everything
-- expect: packed <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: packed <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: packed <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: packed <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: as_row <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: as_row <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: as_row <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: as_row <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: as_list <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: as_list <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: as_list <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: as_list <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: everything <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: everything <- markets.holdings.isin DIRECT/TRANSFORMATION
-- expect: everything <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: everything <- markets.holdings.national_id DIRECT/TRANSFORMATION
select
    struct_pack(h.*) as packed,
    row(h.*) as as_row,
    [h.*] as as_list,
    to_json(*) as everything
from markets.holdings as h
