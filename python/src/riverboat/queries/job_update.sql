-- Merge metadata updates into one job, whatever its state (River's JobUpdate; spec/12-queues-and-admin.md#job-update):
-- `output` from job_update, step and cursor from resumable checkpoints (spec/07-complete.md#resumable).
-- NULL updates leave the row as it is; the row is returned either way.
WITH locked_job AS (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE id = %(id)s::bigint
    FOR UPDATE
)
UPDATE /* TEMPLATE: schema */river_job
SET metadata = CASE WHEN %(metadata)s::jsonb IS NULL THEN metadata ELSE metadata || %(metadata)s::jsonb END
FROM locked_job
WHERE river_job.id = locked_job.id
RETURNING river_job.*
