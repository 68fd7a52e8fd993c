-- SQL-only enqueue: the insert notification (spec/09-notifications.md#channels), once per queue that got an
-- available job, in the inserting transaction so it is delivered on commit only.
SELECT pg_notify(concat(current_schema(), '.river_insert'), json_build_object('queue', queue)::text)
FROM unnest(%(queues)s::text[]) AS queue
