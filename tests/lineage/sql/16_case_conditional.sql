-- CASE / IF: columns in conditions (and a simple CASE's operand) are INDIRECT CONDITIONAL for
-- that column only; THEN / ELSE values are DIRECT. A column used only in a condition has
-- no DIRECT edge.
-- expect: band <- markets.holdings.market_value INDIRECT/CONDITIONAL
-- expect: value_or_zero <- markets.holdings.market_value DIRECT/TRANSFORMATION
-- expect: value_or_zero <- markets.holdings.isin INDIRECT/CONDITIONAL
-- expect: picked <- markets.holdings.national_id DIRECT/TRANSFORMATION
-- expect: picked <- markets.holdings.custody_account_no DIRECT/TRANSFORMATION
-- expect: picked <- markets.holdings.isin INDIRECT/CONDITIONAL
-- expect: simple <- markets.holdings.isin INDIRECT/CONDITIONAL
select
    case when market_value > 100000 then 'high' when market_value > 0 then 'low' else 'none' end
        as band,
    case when isin like 'NO%' then market_value else 0 end as value_or_zero,
    if(isin is null, national_id, custody_account_no) as picked,
    case isin when 'NO0000000001' then 1 else 0 end as simple
from markets.holdings
