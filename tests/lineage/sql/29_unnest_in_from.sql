-- UNNEST as a lateral table function: its column comes from the list it unnests.
-- expect: account_no <- bank.accounts.account_no DIRECT/IDENTITY
-- expect: tag <- bank.accounts.tags DIRECT/TRANSFORMATION
select a.account_no, u.tag from bank.accounts as a, unnest(a.tags) as u(tag)
