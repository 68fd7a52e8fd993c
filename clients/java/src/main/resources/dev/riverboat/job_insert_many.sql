-- Batch insert with unique upsert: one statement over unnest arrays; a live duplicate comes
-- back unchanged with the flag set, and every row with ord, its job's 1-based position, by
-- which the client places it (spec/03-insert.md#the-insert-statement, 04-unique). Every
-- parameter is a text array (JDBC binds those simply): unique keys as hex, '' for none.
WITH input AS (
    SELECT
        nextval('/* TEMPLATE: schema */river_job_id_seq') AS id,
        j.ord,
        ?::timestamptz AS created_at,
        j.args::jsonb AS args,
        j.kind,
        j.max_attempts::smallint AS max_attempts,
        j.metadata::jsonb AS metadata,
        j.priority::smallint AS priority,
        j.queue,
        j.scheduled_at::timestamptz AS scheduled_at,
        j.state::/* TEMPLATE: schema */river_job_state AS state,
        string_to_array(j.tags, ',')::varchar(255)[] AS tags,
        nullif(decode(j.unique_key, 'hex'), '\x'::bytea) AS unique_key,
        nullif(j.unique_states::integer, 0)::bit(8) AS unique_states
    FROM unnest(
        ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]
    ) WITH ORDINALITY AS j (
        args, kind, max_attempts, metadata, priority, queue,
        scheduled_at, state, tags, unique_key, unique_states, ord
    )
    ORDER BY j.ord
),
written AS (
    INSERT INTO /* TEMPLATE: schema */river_job (
        id, args, created_at, kind, max_attempts, metadata, priority, queue,
        scheduled_at, state, tags, unique_key, unique_states
    )
    SELECT
        id, args, created_at, kind, max_attempts, metadata, priority, queue,
        scheduled_at, state, tags, unique_key, unique_states
    FROM input
    ON CONFLICT (unique_key)
        WHERE unique_key IS NOT NULL
            AND unique_states IS NOT NULL
            AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
    -- A no-op update so the conflicting row is returned; the existing kind stays (it can differ
    -- under exclude_kind).
    DO UPDATE SET kind = river_job.kind
    RETURNING river_job.*, (xmax != 0) AS unique_skipped_as_duplicate
)
SELECT
    w.id, w.args::text, w.attempt, w.attempted_at, w.attempted_by,
    w.created_at, coalesce(array_to_json(w.errors)::text, '[]'), w.finalized_at,
    w.kind, w.max_attempts, w.metadata::text, w.priority, w.queue,
    w.scheduled_at, w.state::text, w.tags, w.unique_key,
    w.unique_states::integer, w.unique_skipped_as_duplicate,
    coalesce(fresh.ord, duplicate.ord) AS ord
FROM written AS w
LEFT JOIN input AS fresh ON fresh.id = w.id
LEFT JOIN input AS duplicate
    ON w.unique_skipped_as_duplicate AND duplicate.unique_key = w.unique_key
ORDER BY coalesce(fresh.ord, duplicate.ord)
