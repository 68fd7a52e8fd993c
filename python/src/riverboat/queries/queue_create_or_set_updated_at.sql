-- Register a worked queue, or mark it alive again; returns its row for the paused state (spec/06-fetch.md#queue-registration).
INSERT INTO /* TEMPLATE: schema */river_queue AS q (name, created_at, metadata, updated_at)
VALUES (%(name)s::text, now(), '{}'::jsonb, now())
ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at
RETURNING q.name, q.paused_at
