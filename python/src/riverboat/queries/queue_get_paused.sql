-- Whether a worked queue is paused, for the producer's poll of river_queue (spec/06-fetch.md#pause-and-resume).
SELECT paused_at IS NOT NULL AS paused
FROM /* TEMPLATE: schema */river_queue
WHERE name = %(name)s::text
