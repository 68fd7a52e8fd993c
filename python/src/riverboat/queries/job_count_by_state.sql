-- How many jobs are in each state, optionally of some kinds and queues (spec/12-queues-and-admin.md#job-count-by-state).
-- States without jobs are absent.
SELECT state::text AS state, count(*) AS count
FROM /* TEMPLATE: schema */river_job
WHERE (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
    AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
GROUP BY state
