-- UNNEST of a STRUCT column yields one column per field, not the alias.
-- error: UNNEST of the STRUCT column p.detail
select unnest(p.detail) as d from markets.positions as p
