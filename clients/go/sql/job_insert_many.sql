-- Insert a batch of jobs in one statement from parallel arrays, in input order; a live row
-- holding the same unique key is returned unchanged with unique_skipped_as_duplicate
-- (spec/03-insert.md#the-insert-statement, spec/04-unique.md#conflicts).
INSERT INTO /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states
)
SELECT
    j.args::jsonb,
    $1::timestamptz,
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
    $2::text[],
    $3::text[],
    $4::smallint[],
    $5::text[],
    $6::smallint[],
    $7::text[],
    $8::timestamptz[],
    $9::text[],
    $10::text[],
    $11::bytea[],
    $12::integer[]
) WITH ORDINALITY AS j (
    args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states, ord
)
ORDER BY j.ord
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
    -- A no-op update, only so the conflicting row is returned; it keeps the row's own kind,
    -- which differs from the new job's under exclude_kind.
    DO UPDATE SET kind = river_job.kind
RETURNING
    river_job.id,
    river_job.args,
    river_job.attempt,
    river_job.attempted_at,
    river_job.attempted_by,
    river_job.created_at,
    coalesce(array_to_json(river_job.errors), '[]'::json),
    river_job.finalized_at,
    river_job.kind,
    river_job.max_attempts,
    river_job.metadata,
    river_job.priority,
    river_job.queue,
    river_job.scheduled_at,
    river_job.state::text,
    river_job.tags,
    river_job.unique_key,
    river_job.unique_states::integer,
    (xmax != 0) AS unique_skipped_as_duplicate
