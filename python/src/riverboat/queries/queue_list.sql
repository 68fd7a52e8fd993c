-- Queues by name, up to a limit (spec/12-queues-and-admin.md#queues).
SELECT name, created_at, metadata, paused_at, updated_at
FROM /* TEMPLATE: schema */river_queue
ORDER BY name
LIMIT %(limit)s::bigint
