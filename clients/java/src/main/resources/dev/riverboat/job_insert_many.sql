-- Batch insert with unique upsert: one statement over unnest arrays; a live duplicate comes
-- back unchanged with the flag set (spec 03-insert, 04-unique).
INSERT INTO /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states
)
SELECT
    p.args::jsonb, ?::timestamptz, p.kind, p.max_attempts::smallint, p.metadata::jsonb, p.priority::smallint, p.queue,
    p.scheduled_at::timestamptz, p.state::/* TEMPLATE: schema */river_job_state, string_to_array(p.tags, ','),
    nullif(decode(p.unique_key, 'hex'), ''::bytea), nullif(p.unique_states::integer, 0)::bit(8)
FROM unnest(
    ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]
) AS p (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
-- A no-op update so the conflicting row is returned; the existing kind stays (it can differ
-- under exclude_kind).
DO UPDATE SET kind = river_job.kind
RETURNING
    river_job.id, river_job.args::text, river_job.attempt, river_job.attempted_at, river_job.attempted_by,
    river_job.created_at, coalesce(array_to_json(river_job.errors)::text, '[]'), river_job.finalized_at,
    river_job.kind, river_job.max_attempts, river_job.metadata::text, river_job.priority, river_job.queue,
    river_job.scheduled_at, river_job.state::text, river_job.tags, river_job.unique_key,
    river_job.unique_states::integer, (xmax != 0)
