-- Rescue stuck jobs: append the rescue error, count the rescue, set the decided state (spec/11-maintenance.md#job-rescuer).
-- Only rows still running and still stuck are touched, so a job finished meanwhile keeps its outcome.
UPDATE /* TEMPLATE: schema */river_job
SET
    errors = array_append(river_job.errors, rescued.error),
    finalized_at = rescued.finalized_at,
    scheduled_at = rescued.scheduled_at,
    metadata = river_job.metadata || jsonb_build_object(
        'river:rescue_count',
        coalesce(
            CASE WHEN jsonb_typeof(river_job.metadata -> 'river:rescue_count') = 'number'
                THEN (river_job.metadata ->> 'river:rescue_count')::int
            END,
            0
        ) + 1
    ),
    state = rescued.state
FROM (
    SELECT
        unnest(%(id)s::bigint[]) AS id,
        unnest(%(error)s::jsonb[]) AS error,
        unnest(%(finalized_at)s::timestamptz[]) AS finalized_at,
        unnest(%(scheduled_at)s::timestamptz[]) AS scheduled_at,
        unnest(%(state)s::text[])::/* TEMPLATE: schema */river_job_state AS state
) AS rescued
WHERE river_job.id = rescued.id
    AND river_job.state = 'running'
    AND river_job.attempted_at < %(stuck_horizon)s::timestamptz
RETURNING river_job.id, river_job.state
