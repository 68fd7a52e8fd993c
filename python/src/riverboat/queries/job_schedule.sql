-- Make due scheduled/retryable jobs available, discarding unique conflicts (spec/11-maintenance.md#job-scheduler).
-- A job whose unique key collides with a live job, or with an earlier sibling of the same
-- batch (by priority, scheduled_at, id), is discarded and marked scheduler_discarded.
WITH jobs_to_schedule AS (
    SELECT id, unique_key, unique_states, priority, scheduled_at
    FROM /* TEMPLATE: schema */river_job
    WHERE state IN ('retryable', 'scheduled')
        AND priority >= 0
        AND queue IS NOT NULL
        AND scheduled_at <= coalesce(%(now)s::timestamptz, now())
    ORDER BY priority, scheduled_at, id
    LIMIT %(max)s::bigint
    FOR UPDATE
),
ranked AS (
    SELECT
        jobs_to_schedule.*,
        CASE WHEN unique_key IS NOT NULL AND unique_states IS NOT NULL
            THEN row_number() OVER (PARTITION BY unique_key ORDER BY priority, scheduled_at, id)
        END AS row_num
    FROM jobs_to_schedule
),
conflicts AS (
    SELECT DISTINCT live.unique_key
    FROM /* TEMPLATE: schema */river_job AS live
    JOIN ranked ON live.unique_key = ranked.unique_key AND live.id != ranked.id
    WHERE live.unique_key IS NOT NULL
        AND live.unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(live.unique_states, live.state)
),
decisions AS (
    SELECT
        ranked.id,
        (ranked.row_num IS NOT NULL AND (conflicts.unique_key IS NOT NULL OR ranked.row_num > 1)) AS discard
    FROM ranked
    LEFT JOIN conflicts ON ranked.unique_key = conflicts.unique_key
),
updated AS (
    UPDATE /* TEMPLATE: schema */river_job
    SET
        state = CASE WHEN decisions.discard THEN 'discarded' ELSE 'available' END::/* TEMPLATE: schema */river_job_state,
        finalized_at = CASE WHEN decisions.discard THEN coalesce(%(now)s::timestamptz, now()) ELSE river_job.finalized_at END,
        metadata = CASE WHEN decisions.discard
            THEN river_job.metadata || '{"unique_key_conflict": "scheduler_discarded"}'::jsonb
            ELSE river_job.metadata END
    FROM decisions
    WHERE river_job.id = decisions.id
    RETURNING river_job.id, river_job.queue, river_job.scheduled_at, decisions.discard
)
SELECT id, queue, scheduled_at, discard FROM updated
