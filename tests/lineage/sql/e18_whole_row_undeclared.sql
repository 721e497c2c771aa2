-- A whole row of a table whose columns are not declared cannot be enumerated.
-- error: the columns of undeclared.objections are not declared
select to_json(o) as j from undeclared.objections as o
