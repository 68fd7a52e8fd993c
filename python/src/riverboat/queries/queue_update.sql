-- Replace a queue's metadata (spec/12-queues-and-admin.md#queue-update).
UPDATE /* TEMPLATE: schema */river_queue
SET
    metadata = %(metadata)s::jsonb,
    updated_at = now()
WHERE name = %(name)s::text
RETURNING name, created_at, metadata, paused_at, updated_at
