-- One queue by name (spec/12-queues-and-admin.md#queues).
SELECT name, created_at, metadata, paused_at, updated_at
FROM /* TEMPLATE: schema */river_queue
WHERE name = %(name)s::text
