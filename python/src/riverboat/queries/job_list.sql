-- One page of jobs matching the filters, ordered by id, scheduled_at or finalized_at (spec/12-queues-and-admin.md#job-list).
-- Every filter is optional (NULL = no filter). The page starts after the cursor's
-- (order value, id), so pages never repeat or skip rows while ordering is stable.
SELECT *
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
    AND (
        %(after_id)s::bigint IS NULL
        OR CASE %(order_by)s::text
            WHEN 'id' THEN
                CASE WHEN %(descending)s::boolean THEN id < %(after_id)s::bigint ELSE id > %(after_id)s::bigint END
            WHEN 'scheduled_at' THEN
                CASE WHEN %(descending)s::boolean
                    THEN (scheduled_at, id) < (%(after_time)s::timestamptz, %(after_id)s::bigint)
                    ELSE (scheduled_at, id) > (%(after_time)s::timestamptz, %(after_id)s::bigint) END
            ELSE
                CASE WHEN %(descending)s::boolean
                    THEN (finalized_at, id) < (%(after_time)s::timestamptz, %(after_id)s::bigint)
                    ELSE (finalized_at, id) > (%(after_time)s::timestamptz, %(after_id)s::bigint) END
        END
    )
ORDER BY
    CASE WHEN %(order_by)s::text = 'scheduled_at' AND NOT %(descending)s::boolean THEN scheduled_at END ASC,
    CASE WHEN %(order_by)s::text = 'scheduled_at' AND %(descending)s::boolean THEN scheduled_at END DESC,
    CASE WHEN %(order_by)s::text = 'finalized_at' AND NOT %(descending)s::boolean THEN finalized_at END ASC,
    CASE WHEN %(order_by)s::text = 'finalized_at' AND %(descending)s::boolean THEN finalized_at END DESC,
    CASE WHEN NOT %(descending)s::boolean THEN id END ASC,
    CASE WHEN %(descending)s::boolean THEN id END DESC
LIMIT %(limit)s::bigint
