-- Send one river_insert notification per payload (one per queue that received available
-- jobs), inside the inserting transaction, so workers wake on commit and never on rollback
-- (spec/03-insert.md#notification, spec/09-notifications.md).
SELECT pg_notify(concat(coalesce($1::text, current_schema()), '.river_insert'), payload)
FROM unnest($2::text[]) AS payload
