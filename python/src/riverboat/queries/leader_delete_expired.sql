-- Delete an expired leader row so a new election can succeed (spec/10-leadership.md#election).
DELETE FROM /* TEMPLATE: schema */river_leader
WHERE expires_at < coalesce(%(now)s::timestamptz, now())
