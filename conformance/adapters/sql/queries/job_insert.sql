-- SQL-only enqueue: insert a batch of jobs given as a JSON array, defaults as spec/03-insert.md#parameters.
-- One row per element, in input order; state is pending, scheduled (scheduled_at given) or available.
INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
SELECT
    (job ->> 'args')::jsonb,
    job ->> 'kind',
    coalesce((job ->> 'max_attempts')::smallint, 25),
    coalesce(job -> 'metadata', '{}'),
    coalesce((job ->> 'priority')::smallint, 1),
    coalesce(job ->> 'queue', 'default'),
    coalesce((job ->> 'scheduled_at')::timestamptz, now()),
    (CASE
        WHEN (job ->> 'pending')::boolean THEN 'pending'
        WHEN job ? 'scheduled_at' THEN 'scheduled'
        ELSE 'available'
    END)::river_job_state,
    coalesce(ARRAY(SELECT jsonb_array_elements_text(job -> 'tags')), '{}')
FROM jsonb_array_elements(%(jobs)s::jsonb) WITH ORDINALITY AS input (job, position)
ORDER BY position
RETURNING *
