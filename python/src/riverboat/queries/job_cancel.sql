-- Cancel a job by River's rules (spec/12-queues-and-admin.md#job-cancel): not running → cancelled now;
-- running → metadata.cancel_attempted_at plus a river_control cancel notification for
-- whichever client runs it; finalized → unchanged. Returns the row either way.
WITH locked_job AS (
    SELECT id, queue, state, finalized_at
    FROM /* TEMPLATE: schema */river_job
    WHERE id = %(id)s::bigint
    FOR UPDATE
),
notification AS (
    SELECT
        id,
        pg_notify(
            concat(coalesce(%(schema)s::text, current_schema()), '.river_control'),
            json_build_object('action', 'cancel', 'job_id', id, 'queue', queue)::text
        )
    FROM locked_job
    WHERE state NOT IN ('cancelled', 'completed', 'discarded')
        AND finalized_at IS NULL
),
updated_job AS (
    UPDATE /* TEMPLATE: schema */river_job
    SET
        state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
        finalized_at = CASE WHEN state = 'running' THEN finalized_at ELSE coalesce(%(now)s::timestamptz, now()) END,
        -- Marks the job so the rescuer cancels rather than retries it if it gets stuck.
        metadata = jsonb_set(metadata, '{cancel_attempted_at}'::text[], %(cancel_attempted_at)s::jsonb, true)
    FROM notification
    WHERE river_job.id = notification.id
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
