-- Running jobs whose attempt started before the stuck horizon, paged by id (spec/11-maintenance.md#job-rescuer).
SELECT *
FROM /* TEMPLATE: schema */river_job
WHERE state = 'running'
    AND id > %(after_id)s::bigint
    AND attempted_at < %(stuck_horizon)s::timestamptz
ORDER BY id
LIMIT %(max)s::bigint
