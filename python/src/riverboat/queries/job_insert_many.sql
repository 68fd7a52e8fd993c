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
    %(args)b::text[],
    %(created_at)b::timestamptz[],
    %(kind)b::text[],
    %(max_attempts)b::smallint[],
    %(metadata)b::text[],
    %(priority)b::smallint[],
    %(queue)b::text[],
    %(scheduled_at)b::timestamptz[],
    %(state)b::text[],
    %(tags)b::text[],
    %(unique_key)b::bytea[],
    %(unique_states)b::integer[]
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
