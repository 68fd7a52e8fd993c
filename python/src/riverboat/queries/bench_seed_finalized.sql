-- Fill the jobs table with completed jobs of another kind, finalized an hour ago, to measure fetching past a
-- large history (`riverboat bench --seed-finalized`; spec/06-fetch.md#the-fetch-statement).
INSERT INTO /* TEMPLATE: schema */river_job (
    args, attempt, attempted_at, created_at, finalized_at, kind, max_attempts, queue, scheduled_at, state
)
SELECT '{}'::jsonb, 1, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour',
    %(kind)s::text, 25, %(queue)s::text, now() - interval '1 hour', 'completed'
FROM generate_series(1, %(count)s::integer)
