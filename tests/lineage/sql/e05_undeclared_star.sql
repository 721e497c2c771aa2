-- * over a table whose columns are not declared fails closed, saying what to declare.
-- error: declare the columns in the source YAML
select * from undeclared.objections
