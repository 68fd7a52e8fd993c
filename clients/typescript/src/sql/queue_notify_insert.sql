-- Send one river_insert notification per distinct queue, inside the inserting transaction, so
-- that workers wake on commit and never on rollback (spec/03-insert.md#notification).
SELECT pg_notify(
    concat(coalesce(%(schema)s::text, current_schema()), '.river_insert'),
    json_build_object('queue', queue)::text
)
FROM (SELECT DISTINCT unnest(%(queues)s::text[]) AS queue) AS queues
