-- Insert a batch of jobs in one statement from parallel arrays; a live row holding the same unique key
-- is returned unchanged with unique_skipped_as_duplicate (spec/03-insert.md#the-insert-statement).
INSERT INTO /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states
)
SELECT
    j.args::jsonb,
    j.created_at,
    j.kind,
    j.max_attempts,
    j.metadata::jsonb,
    j.priority,
    j.queue,
    j.scheduled_at,
    j.state::/* TEMPLATE: schema */river_job_state,
    string_to_array(j.tags, ',')::varchar(255)[],
    j.unique_key,
    j.unique_states::bit(8)
FROM unnest(
    %(args)s::text[],
    %(created_at)s::timestamptz[],
    %(kind)s::text[],
    %(max_attempts)s::smallint[],
    %(metadata)s::text[],
    %(priority)s::smallint[],
    %(queue)s::text[],
    %(scheduled_at)s::timestamptz[],
    %(state)s::text[],
    %(tags)s::text[],
    %(unique_key)s::bytea[],
    %(unique_states)s::integer[]
) WITH ORDINALITY AS j (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states, ord
)
ORDER BY j.ord
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
    -- A no-op update that locks and returns the live row, which keeps its own kind (as River does).
    DO UPDATE SET kind = river_job.kind
RETURNING *, (xmax != 0) AS unique_skipped_as_duplicate
