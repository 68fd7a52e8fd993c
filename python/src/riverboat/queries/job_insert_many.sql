-- Insert a batch of jobs in one statement from parallel arrays; a live row holding the same unique key
-- is returned unchanged with unique_skipped_as_duplicate. Each result carries ord, its job's 1-based
-- position, by which the client places it: RETURNING order is not promised
-- (spec/03-insert.md#the-insert-statement). created_at is an array, one per job rather than the spec's
-- one value, because insert middleware may set a job's own (River's JobInsertParams.CreatedAt).
WITH input AS (
    SELECT
        nextval('/* TEMPLATE: schema */river_job_id_seq') AS id,
        j.ord,
        j.args::jsonb AS args,
        j.created_at,
        j.kind,
        j.max_attempts,
        j.metadata::jsonb AS metadata,
        j.priority,
        j.queue,
        j.scheduled_at,
        j.state::/* TEMPLATE: schema */river_job_state AS state,
        string_to_array(j.tags, ',')::varchar(255)[] AS tags,
        j.unique_key,
        j.unique_states::bit(8) AS unique_states
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
    -- IDs are drawn after sorting, so they ascend in input order.
    ORDER BY j.ord
),
written AS (
    INSERT INTO /* TEMPLATE: schema */river_job (
        id, args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
        unique_key, unique_states
    )
    SELECT
        id, args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
        unique_key, unique_states
    FROM input
    ON CONFLICT (unique_key)
        WHERE unique_key IS NOT NULL
            AND unique_states IS NOT NULL
            AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
        -- A no-op update that locks and returns the live row, which keeps its own kind (as River does).
        DO UPDATE SET kind = river_job.kind
    RETURNING river_job.*, (xmax != 0) AS unique_skipped_as_duplicate
)
-- A new row is its job's by ID; a duplicate is the existing row, its job's by unique key
-- (each key appears once per statement).
SELECT coalesce(fresh.ord, duplicate.ord) AS ord, written.*
FROM written
LEFT JOIN input AS fresh ON fresh.id = written.id
LEFT JOIN input AS duplicate
    ON written.unique_skipped_as_duplicate AND duplicate.unique_key = written.unique_key
ORDER BY 1
