-- Lock up to max_to_lock due available jobs of one queue and mark them running (spec/06-fetch.md#the-fetch-statement).
WITH picked AS (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE state = 'available'
      AND queue = %(queue)s::text
      AND scheduled_at <= now()
    ORDER BY priority ASC, scheduled_at ASC, id ASC
    LIMIT %(max_to_lock)s::integer
    FOR UPDATE SKIP LOCKED
)
UPDATE /* TEMPLATE: schema */river_job AS job
SET state = 'running',
    attempt = job.attempt + 1,
    attempted_at = now(),
    -- Keep the newest 99 earlier entries so that with this client's ID the array holds at most 100.
    attempted_by = coalesce(job.attempted_by[greatest(cardinality(job.attempted_by) - 98, 1):], '{}')
        || %(client_id)s::text
FROM picked
WHERE job.id = picked.id
RETURNING job.id, job.state::text AS state, job.attempt, job.max_attempts, job.attempted_at, job.created_at,
    job.finalized_at, job.scheduled_at, job.priority, job.args, job.attempted_by, job.errors, job.kind,
    job.metadata, job.queue, job.tags, job.unique_key, job.unique_states::text AS unique_states
