-- Fill the jobs table with jobs of another kind scheduled a day ahead, to measure fetching beside many jobs that
-- are not yet due (`riverboat bench --seed-scheduled`; spec/06-fetch.md#the-fetch-statement).
INSERT INTO /* TEMPLATE: schema */river_job (args, kind, max_attempts, queue, scheduled_at, state)
SELECT '{}'::jsonb, %(kind)s::text, 25, %(queue)s::text, now() + interval '1 day', 'scheduled'
FROM generate_series(1, %(count)s::integer)
