-- How many jobs of one kind are in each state, to check a benchmark run after it is timed (`riverboat bench`).
SELECT state::text AS state, count(*) AS count
FROM /* TEMPLATE: schema */river_job
WHERE kind = %(kind)s::text
GROUP BY state
