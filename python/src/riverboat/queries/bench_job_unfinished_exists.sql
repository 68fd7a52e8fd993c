-- Whether a job of the queue is still available or running: a burn-down ends when none is (`riverboat bench`).
-- Two probes of the prioritized fetching index, cheap however many finalized rows the table holds.
SELECT EXISTS (
    SELECT 1 FROM /* TEMPLATE: schema */river_job WHERE state = 'available' AND queue = %(queue)s::text
) OR EXISTS (
    SELECT 1 FROM /* TEMPLATE: schema */river_job WHERE state = 'running' AND queue = %(queue)s::text
) AS unfinished
