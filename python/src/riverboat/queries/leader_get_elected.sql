-- The current leader row, if any (spec/10-leadership.md#election).
SELECT elected_at, expires_at, leader_id, name
FROM /* TEMPLATE: schema */river_leader
