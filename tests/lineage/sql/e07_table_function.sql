-- A table function whose columns cannot be known fails closed.
-- error: read_csv
select * from read_csv('objections.csv')
