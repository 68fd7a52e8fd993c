-- Extend this client's unexpired lease of the same term; no row means the lease was lost (spec/10-leadership.md#lease).
UPDATE /* TEMPLATE: schema */river_leader
SET expires_at = coalesce(%(now)s::timestamptz, now()) + make_interval(secs => %(ttl)s)
WHERE elected_at = %(elected_at)s::timestamptz
    AND expires_at >= coalesce(%(now)s::timestamptz, now())
    AND leader_id = %(leader_id)s
RETURNING elected_at, expires_at, leader_id, name
