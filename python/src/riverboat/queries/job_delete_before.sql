-- Delete one batch of finalized jobs past their retention (spec/11-maintenance.md#job-cleaner).
-- A NULL horizon keeps that state forever.
DELETE FROM /* TEMPLATE: schema */river_job
WHERE id IN (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE (state = 'cancelled' AND finalized_at < %(cancelled_horizon)s::timestamptz)
        OR (state = 'completed' AND finalized_at < %(completed_horizon)s::timestamptz)
        OR (state = 'discarded' AND finalized_at < %(discarded_horizon)s::timestamptz)
    ORDER BY id
    LIMIT %(max)s::bigint
)
