-- Delete one batch of river_queue rows no client has refreshed since the horizon (spec/11-maintenance.md#queue-cleaner).
DELETE FROM /* TEMPLATE: schema */river_queue
WHERE name IN (
    SELECT name
    FROM /* TEMPLATE: schema */river_queue
    WHERE updated_at < %(updated_at_horizon)s::timestamptz
    ORDER BY name
    LIMIT %(max)s::bigint
)
RETURNING name
