-- Delete up to a limit of jobs matching the filters, never running ones; returns them in order (spec/12-queues-and-admin.md#job-delete-many).
WITH to_delete AS (
    SELECT id
    FROM /* TEMPLATE: schema */river_job
    WHERE
    (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
    AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
    AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
    AND (%(states)s::text[] IS NULL OR state::text = ANY(%(states)s::text[]))
    AND (%(priorities)s::smallint[] IS NULL OR priority = ANY(%(priorities)s::smallint[]))
    AND (%(tags_any)s::varchar(255)[] IS NULL OR tags && %(tags_any)s::varchar(255)[])
    AND (%(tags_all)s::varchar(255)[] IS NULL OR tags @> %(tags_all)s::varchar(255)[])
    AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
    AND (%(order_by)s::text <> 'finalized_at' OR finalized_at IS NOT NULL)
        AND state <> 'running'
    ORDER BY
    CASE WHEN %(order_by)s::text = 'scheduled_at' AND NOT %(descending)s::boolean THEN scheduled_at END ASC,
    CASE WHEN %(order_by)s::text = 'scheduled_at' AND %(descending)s::boolean THEN scheduled_at END DESC,
    CASE WHEN %(order_by)s::text = 'finalized_at' AND NOT %(descending)s::boolean THEN finalized_at END ASC,
    CASE WHEN %(order_by)s::text = 'finalized_at' AND %(descending)s::boolean THEN finalized_at END DESC,
    CASE WHEN NOT %(descending)s::boolean THEN id END ASC,
    CASE WHEN %(descending)s::boolean THEN id END DESC
    LIMIT %(limit)s::bigint
    FOR UPDATE SKIP LOCKED
)
DELETE FROM /* TEMPLATE: schema */river_job
USING to_delete
WHERE river_job.id = to_delete.id
RETURNING river_job.*
