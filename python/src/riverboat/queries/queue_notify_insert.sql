-- Send one river_insert notification per distinct queue, inside the caller's transaction (spec/09-notifications.md).
SELECT pg_notify(
    concat(coalesce(%(schema)s::text, current_schema()), '.river_insert'),
    json_build_object('queue', queue)::text
)
FROM (SELECT DISTINCT unnest(%(queues)s::text[]) AS queue) AS queues
