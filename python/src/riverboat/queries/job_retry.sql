-- Make a job available again now by River's rules (spec/12-queues-and-admin.md#job-retry): never a running job;
-- an available job already due is left alone; a job that used all attempts gets one more. Unlike River, a
-- job at the largest attempt (smallint) is left alone too: made available, it would stall its queue's fetch.
WITH job_to_update AS (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE id = %(id)s::bigint
    FOR UPDATE
),
updated_job AS (
    UPDATE /* TEMPLATE: schema */river_job
    SET
        state = 'available',
        max_attempts = CASE WHEN attempt = max_attempts THEN max_attempts + 1 ELSE max_attempts END,
        finalized_at = NULL,
        -- A cancellation requested during an earlier attempt must not cancel the next one.
        metadata = metadata - 'cancel_attempted_at',
        scheduled_at = coalesce(%(now)s::timestamptz, now())
    FROM job_to_update
    WHERE river_job.id = job_to_update.id
        AND river_job.state <> 'running'
        AND NOT (river_job.state = 'available' AND river_job.scheduled_at < coalesce(%(now)s::timestamptz, now()))
        AND river_job.attempt < %(attempt_limit)s::integer
    RETURNING river_job.*
)
SELECT *
FROM (
    SELECT *
    FROM /* TEMPLATE: schema */river_job
    WHERE id = %(id)s::bigint
) AS unchanged_job
WHERE unchanged_job.id NOT IN (SELECT id FROM updated_job)
UNION ALL
SELECT *
FROM updated_job
