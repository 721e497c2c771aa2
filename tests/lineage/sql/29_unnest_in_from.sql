-- UNNEST as a lateral table function: its column comes from the list it unnests, and the list
-- decides how many rows each account becomes (a dataset-level JOIN, not restricting).
-- expect: account_no <- bank.accounts.account_no DIRECT/IDENTITY
-- expect: tag <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: * <- bank.accounts.tags INDIRECT/JOIN
select a.account_no, u.tag from bank.accounts as a, unnest(a.tags) as u(tag)
