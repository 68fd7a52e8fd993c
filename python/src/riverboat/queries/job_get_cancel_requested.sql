-- Which of a producer's running jobs someone asked to cancel, for its cancel poll (spec/06-fetch.md#cancel-polling).
-- The key counts on an object only, as in the completion statement.
SELECT id
FROM /* TEMPLATE: schema */river_job
WHERE id = ANY(%(id)b::bigint[])
    AND state = 'running'
    AND jsonb_typeof(metadata) = 'object'
    AND metadata ? 'cancel_attempted_at'
ORDER BY id
