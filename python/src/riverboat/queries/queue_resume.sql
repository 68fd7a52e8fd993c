-- Resume one queue or every queue ('*') (spec/12-queues-and-admin.md#pause).
UPDATE /* TEMPLATE: schema */river_queue
SET
    paused_at = NULL,
    updated_at = CASE WHEN paused_at IS NOT NULL THEN coalesce(%(now)s::timestamptz, now()) ELSE updated_at END
WHERE CASE WHEN %(name)s::text = '*' THEN true ELSE name = %(name)s::text END
