-- Insert a batch of jobs in one statement from parallel arrays; a live row holding the same
-- unique key comes back unchanged, flagged unique_skipped_as_duplicate. Each result carries
-- ord, its job's 1-based position, by which the client places it
-- (spec/03-insert.md#the-insert-statement, spec/04-unique.md#conflicts). Every returned
-- column is rendered as exact text (ids, JSON, microsecond UTC times) for decoding in JS;
-- unique keys travel as hex, '' for none, and unique states 0 for none.
WITH input AS (
    SELECT
        nextval('/* TEMPLATE: schema */river_job_id_seq') AS id,
        j.ord,
        %(created_at)s::timestamptz AS created_at,
        j.args::jsonb AS args,
        j.kind,
        j.max_attempts,
        j.metadata::jsonb AS metadata,
        j.priority,
        j.queue,
        j.scheduled_at,
        j.state::/* TEMPLATE: schema */river_job_state AS state,
        string_to_array(j.tags, ',')::varchar(255)[] AS tags,
        nullif(decode(j.unique_key, 'hex'), '\x'::bytea) AS unique_key,
        nullif(j.unique_states, 0)::bit(8) AS unique_states
    FROM unnest(
        %(args)s::text[],
        %(kind)s::text[],
        %(max_attempts)s::smallint[],
        %(metadata)s::text[],
        %(priority)s::smallint[],
        %(queue)s::text[],
        %(scheduled_at)s::timestamptz[],
        %(state)s::text[],
        %(tags)s::text[],
        %(unique_key)s::text[],
        %(unique_states)s::integer[]
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
        -- A no-op update so that the conflicting row is returned; it keeps its own kind, which
        -- differs from the new job's under exclude_kind.
        DO UPDATE SET kind = river_job.kind
    RETURNING river_job.*, (xmax != 0) AS unique_skipped_as_duplicate
)
SELECT
    coalesce(fresh.ord, duplicate.ord)::text AS ord,
    written.id::text AS id,
    written.args::text AS args,
    written.attempt::integer AS attempt,
    to_char(written.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS attempted_at,
    array_to_json(coalesce(written.attempted_by, '{}'))::text AS attempted_by,
    to_char(written.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
    array_to_json(coalesce(written.errors, '{}'))::text AS errors,
    to_char(written.finalized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finalized_at,
    written.kind,
    written.max_attempts::integer AS max_attempts,
    written.metadata::text AS metadata,
    written.priority::integer AS priority,
    written.queue,
    to_char(written.scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS scheduled_at,
    written.state::text AS state,
    array_to_json(coalesce(written.tags, '{}'))::text AS tags,
    encode(written.unique_key, 'hex') AS unique_key,
    written.unique_states::integer AS unique_states,
    written.unique_skipped_as_duplicate
FROM written
LEFT JOIN input AS fresh ON fresh.id = written.id
LEFT JOIN input AS duplicate
    ON written.unique_skipped_as_duplicate AND duplicate.unique_key = written.unique_key
ORDER BY coalesce(fresh.ord, duplicate.ord)
