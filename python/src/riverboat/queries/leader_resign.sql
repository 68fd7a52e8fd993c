-- Give up this client's term and announce it on <schema>.river_leadership (spec/10-leadership.md#resign).
WITH currently_held AS (
    SELECT leader_id
    FROM /* TEMPLATE: schema */river_leader
    WHERE elected_at = %(elected_at)s::timestamptz
        AND leader_id = %(leader_id)s
    FOR UPDATE
),
notified AS (
    SELECT pg_notify(
        concat(coalesce(%(schema)s::text, current_schema()), '.river_leadership'),
        json_build_object('leader_id', leader_id, 'action', 'resigned')::text
    )
    FROM currently_held
)
DELETE FROM /* TEMPLATE: schema */river_leader USING notified
