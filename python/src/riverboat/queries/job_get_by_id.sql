-- One job by id (spec/12-queues-and-admin.md#job-get).
SELECT *
FROM /* TEMPLATE: schema */river_job
WHERE id = %(id)s::bigint
