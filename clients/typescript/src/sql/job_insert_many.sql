-- Insert a batch of jobs in one statement from parallel arrays, in input order; a live row
-- holding the same unique key comes back unchanged, flagged unique_skipped_as_duplicate
-- (spec/03-insert.md#the-insert-statement, spec/04-unique.md#conflicts). Every returned
-- column is rendered as exact text (ids, JSON, microsecond UTC times) for decoding in JS.
INSERT INTO /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states
)
SELECT
    j.args::jsonb,
    %(created_at)s::timestamptz,
    j.kind,
    j.max_attempts,
    j.metadata::jsonb,
    j.priority,
    j.queue,
    j.scheduled_at,
    j.state::/* TEMPLATE: schema */river_job_state,
    string_to_array(j.tags, ',')::varchar(255)[],
    decode(j.unique_key, 'hex'),
    j.unique_states::bit(8)
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
    args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states, ord
)
ORDER BY j.ord
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
    -- A no-op update so that the conflicting row is returned; it keeps its own kind, which
    -- differs from the new job's under exclude_kind.
    DO UPDATE SET kind = river_job.kind
RETURNING
    river_job.id::text AS id,
    river_job.args::text AS args,
    river_job.attempt::integer AS attempt,
    to_char(river_job.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS attempted_at,
    array_to_json(coalesce(river_job.attempted_by, '{}'))::text AS attempted_by,
    to_char(river_job.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
    array_to_json(coalesce(river_job.errors, '{}'))::text AS errors,
    to_char(river_job.finalized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finalized_at,
    river_job.kind,
    river_job.max_attempts::integer AS max_attempts,
    river_job.metadata::text AS metadata,
    river_job.priority::integer AS priority,
    river_job.queue,
    to_char(river_job.scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS scheduled_at,
    river_job.state::text AS state,
    array_to_json(coalesce(river_job.tags, '{}'))::text AS tags,
    encode(river_job.unique_key, 'hex') AS unique_key,
    river_job.unique_states::integer AS unique_states,
    (xmax != 0) AS unique_skipped_as_duplicate
