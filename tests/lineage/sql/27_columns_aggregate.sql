-- COLUMNS(*) EXCLUDE inside an aggregate: one AGGREGATION output per column.
-- columns: units, value
-- expect: units <- asset_management.fund_holdings.units DIRECT/AGGREGATION
-- expect: value <- asset_management.fund_holdings.value DIRECT/AGGREGATION
select max(columns(* exclude (national_id, fund_id))) from asset_management.fund_holdings
