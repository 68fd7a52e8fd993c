-- Batch insert with unique upsert: one statement over unnest arrays; a live duplicate comes
-- back unchanged with the flag set (spec 03-insert, 04-unique).
INSERT INTO /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
    unique_key, unique_states
)
SELECT
    p.args::jsonb, $1::timestamptz, p.kind, p.max_attempts, p.metadata::jsonb, p.priority, p.queue,
    p.scheduled_at, p.state::/* TEMPLATE: schema */river_job_state, string_to_array(p.tags, ','),
    nullif(p.unique_key, ''::bytea), nullif(p.unique_states, 0)::bit(8)
FROM unnest(
    $2::text[], $3::text[], $4::smallint[], $5::text[], $6::smallint[], $7::text[],
    $8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::integer[]
) AS p (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
-- A no-op update so the conflicting row is returned; the existing kind stays (it can
-- differ under exclude_kind).
DO UPDATE SET kind = river_job.kind
RETURNING
    river_job.id, river_job.args::text, river_job.attempt, river_job.attempted_at, river_job.attempted_by,
    river_job.created_at, coalesce(array_to_json(river_job.errors)::text, '[]'), river_job.finalized_at,
    river_job.kind, river_job.max_attempts, river_job.metadata::text, river_job.priority, river_job.queue,
    river_job.scheduled_at, river_job.state::text, river_job.tags, river_job.unique_key,
    river_job.unique_states::integer, (xmax != 0)
