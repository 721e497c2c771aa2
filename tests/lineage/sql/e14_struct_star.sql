-- s.* over a STRUCT column expands its fields, whose names the engine cannot know.
-- error: expands the fields of a STRUCT
select p.detail.* from markets.positions as p
