-- Delete one job unless it is running; returns the row either way (spec/12-queues-and-admin.md#job-delete).
WITH job_to_delete AS (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE id = %(id)s::bigint
    FOR UPDATE
),
deleted_job AS (
    DELETE FROM /* TEMPLATE: schema */river_job
    USING job_to_delete
    WHERE river_job.id = job_to_delete.id
        AND river_job.state <> 'running'
    RETURNING river_job.*
)
SELECT *
FROM /* TEMPLATE: schema */river_job
WHERE id = %(id)s::bigint
    AND id NOT IN (SELECT id FROM deleted_job)
UNION ALL
SELECT *
FROM deleted_job
