-- Claim leadership if nobody holds it; returns the row only when this client won (spec/10-leadership.md#election).
INSERT INTO /* TEMPLATE: schema */river_leader (leader_id, elected_at, expires_at)
VALUES (
    %(leader_id)s,
    coalesce(%(now)s::timestamptz, now()),
    coalesce(%(now)s::timestamptz, now()) + make_interval(secs => %(ttl)s)
)
ON CONFLICT (name) DO NOTHING
RETURNING elected_at, expires_at, leader_id, name
