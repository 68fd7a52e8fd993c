-- Insert a batch of jobs in one statement from parallel arrays; a live row holding the same
-- unique key is returned unchanged with unique_skipped_as_duplicate. Each result carries
-- ord, its job's 1-based position, by which the client places it
-- (spec/03-insert.md#the-insert-statement, spec/04-unique.md#conflicts).
WITH input AS (
    SELECT
        nextval('/* TEMPLATE: schema */river_job_id_seq') AS id,
        j.ord,
        j.args::jsonb AS args,
        j.kind,
        j.max_attempts,
        j.metadata::jsonb AS metadata,
        j.priority,
        j.queue,
        j.scheduled_at,
        j.state::/* TEMPLATE: schema */river_job_state AS state,
        string_to_array(j.tags, ',')::varchar(255)[] AS tags,
        nullif(j.unique_key, '\x'::bytea) AS unique_key,
        nullif(j.unique_states, 0)::bit(8) AS unique_states
    FROM unnest(
        $2::text[], $3::text[], $4::smallint[], $5::text[], $6::smallint[], $7::text[],
        $8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::integer[]
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
        id, args, $1::timestamptz, kind, max_attempts, metadata, priority, queue,
        scheduled_at, state, tags, unique_key, unique_states
    FROM input
    ON CONFLICT (unique_key)
        WHERE unique_key IS NOT NULL
            AND unique_states IS NOT NULL
            AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
        -- A no-op update, only so the conflicting row is returned; it keeps the row's own kind,
        -- which differs from the new job's under exclude_kind.
        DO UPDATE SET kind = river_job.kind
    RETURNING river_job.*, (xmax != 0) AS unique_skipped_as_duplicate
)
SELECT
    coalesce(fresh.ord, duplicate.ord) AS ord,
    written.id,
    written.args,
    written.attempt,
    written.attempted_at,
    written.attempted_by,
    written.created_at,
    coalesce(array_to_json(written.errors), '[]'::json),
    written.finalized_at,
    written.kind,
    written.max_attempts,
    written.metadata,
    written.priority,
    written.queue,
    written.scheduled_at,
    written.state::text,
    written.tags,
    written.unique_key,
    written.unique_states::integer,
    written.unique_skipped_as_duplicate
FROM written
LEFT JOIN input AS fresh ON fresh.id = written.id
LEFT JOIN input AS duplicate
    ON written.unique_skipped_as_duplicate AND duplicate.unique_key = written.unique_key
ORDER BY 1
