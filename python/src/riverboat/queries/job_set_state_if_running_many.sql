-- Apply a batch of job outcomes in one statement; rows change only while still running (spec/07-complete.md#the-completion-statement).
WITH outcome AS (
    SELECT *
    FROM unnest(
        %(id)b::bigint[],
        %(state)b::text[],
        %(attempt)b::integer[],
        %(error)b::jsonb[],
        %(finalized_at)b::timestamptz[],
        %(scheduled_at)b::timestamptz[],
        %(metadata_updates)b::jsonb[],
        %(attempted_at)b::timestamptz[]
    ) AS o(id, state, attempt, error, finalized_at, scheduled_at, metadata_updates, attempted_at)
),
target AS (
    SELECT job.id,
        job.state = 'running' AS was_running,
        -- A retry or snooze of a job someone asked to cancel ends it instead (River's rule). The key
        -- counts on an object only: `?` also matches a string element of an array or a string.
        job.state = 'running' AND o.state IN ('available', 'retryable', 'scheduled')
            AND jsonb_typeof(job.metadata) = 'object' AND job.metadata ? 'cancel_attempted_at' AS cancel_instead,
        o.state, o.attempt, o.error, o.finalized_at, o.scheduled_at, o.metadata_updates
    FROM /* TEMPLATE: schema */river_job AS job
    JOIN outcome AS o ON o.id = job.id
    -- An outcome applies only to the attempt it is the outcome of (attempted_at NULL: any), so a
    -- write retried after it did commit can't reach a later attempt of the job.
    WHERE o.attempted_at IS NULL OR job.attempted_at = o.attempted_at
    FOR UPDATE OF job
),
updated AS (
    UPDATE /* TEMPLATE: schema */river_job AS job
    SET state = CASE
            WHEN t.cancel_instead THEN 'cancelled'
            WHEN t.was_running THEN t.state::/* TEMPLATE: schema */river_job_state
            ELSE job.state
        END,
        attempt = CASE WHEN t.was_running AND NOT t.cancel_instead THEN coalesce(t.attempt, job.attempt)
            ELSE job.attempt END,
        errors = CASE WHEN t.was_running AND t.error IS NOT NULL THEN array_append(job.errors, t.error)
            ELSE job.errors END,
        finalized_at = CASE
            WHEN t.cancel_instead THEN now()
            WHEN t.was_running AND t.finalized_at IS NOT NULL THEN t.finalized_at
            ELSE job.finalized_at
        END,
        scheduled_at = CASE WHEN t.was_running AND NOT t.cancel_instead THEN coalesce(t.scheduled_at, job.scheduled_at)
            ELSE job.scheduled_at END,
        metadata = CASE WHEN t.metadata_updates IS NOT NULL THEN job.metadata || t.metadata_updates
            ELSE job.metadata END
    FROM target AS t
    WHERE job.id = t.id
      AND (t.was_running OR t.metadata_updates IS NOT NULL)
    RETURNING job.id, job.state::text AS state, job.attempt, job.max_attempts, job.attempted_at, job.created_at,
        job.finalized_at, job.scheduled_at, job.priority, job.args, job.attempted_by, job.errors, job.kind,
        job.metadata, job.queue, job.tags, job.unique_key, job.unique_states::text AS unique_states,
        t.was_running
)
-- Rows go back only when asked for: when nothing reads them, the server need not send them.
-- Rows left unchanged (no longer running) go back too, as they are (River's rule), so a
-- job completed in its worker's own transaction is reported completed.
SELECT * FROM updated WHERE %(read_rows)s::boolean
UNION ALL
SELECT job.id, job.state::text AS state, job.attempt, job.max_attempts, job.attempted_at, job.created_at,
    job.finalized_at, job.scheduled_at, job.priority, job.args, job.attempted_by, job.errors, job.kind,
    job.metadata, job.queue, job.tags, job.unique_key, job.unique_states::text AS unique_states,
    false AS was_running
FROM /* TEMPLATE: schema */river_job AS job
JOIN target AS t ON t.id = job.id
WHERE %(read_rows)s::boolean AND NOT (t.was_running OR t.metadata_updates IS NOT NULL)
