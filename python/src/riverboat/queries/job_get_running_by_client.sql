-- Jobs of one queue that a fetch of one client locked within the last `within` seconds: after a
-- fetch whose answer was lost, the client takes back what it locked (spec/06-fetch.md#faults).
SELECT id, state::text AS state, attempt, max_attempts, attempted_at, created_at, finalized_at, scheduled_at,
    priority, args, attempted_by, errors, kind, metadata, queue, tags, unique_key, unique_states::text AS unique_states
FROM /* TEMPLATE: schema */river_job
WHERE state = 'running'
  AND queue = %(queue)s::text
  AND attempted_by[cardinality(attempted_by)] = %(client_id)s::text
  AND attempted_at >= now() - make_interval(secs => %(within)s::float8)
ORDER BY id
