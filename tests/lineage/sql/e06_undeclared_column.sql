-- A column of a table whose columns are not declared fails closed.
-- error: the columns of undeclared.objections are not declared
select national_id from undeclared.objections
