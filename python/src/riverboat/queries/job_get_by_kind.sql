-- Jobs of one kind, oldest first, for riverboat.testing's require_inserted (spec/07-complete.md#testing-helpers).
SELECT id, state::text AS state, attempt, max_attempts, attempted_at, created_at, finalized_at, scheduled_at,
    priority, args, attempted_by, errors, kind, metadata, queue, tags, unique_key, unique_states::text AS unique_states
FROM /* TEMPLATE: schema */river_job
WHERE kind = %(kind)s::text
ORDER BY id
