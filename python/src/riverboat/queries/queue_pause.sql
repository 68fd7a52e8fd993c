-- Pause one queue or every queue ('*'); an already paused queue keeps its paused_at (spec/12-queues-and-admin.md#pause).
UPDATE /* TEMPLATE: schema */river_queue
SET
    paused_at = CASE WHEN paused_at IS NULL THEN coalesce(%(now)s::timestamptz, now()) ELSE paused_at END,
    updated_at = CASE WHEN paused_at IS NULL THEN coalesce(%(now)s::timestamptz, now()) ELSE updated_at END
WHERE CASE WHEN %(name)s::text = '*' THEN true ELSE name = %(name)s::text END
