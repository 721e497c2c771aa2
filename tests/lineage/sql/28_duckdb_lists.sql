-- Lambda parameters are not columns; list functions and comprehensions transform their
-- inputs; UNNEST in the select list (its list decides how many rows each row becomes: FILTER).
-- expect: upper_tags <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: same_product <- bank.accounts.product_code DIRECT/TRANSFORMATION
-- expect: same_product <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: shouted <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: tag <- bank.accounts.tags DIRECT/TRANSFORMATION
-- expect: * <- bank.accounts.tags INDIRECT/FILTER
select
    list_transform(tags, lambda t: upper(t)) as upper_tags,
    list_filter(tags, t -> t = product_code) as same_product,
    [t || '!' for t in tags if t <> ''] as shouted,
    unnest(tags) as tag
from bank.accounts
