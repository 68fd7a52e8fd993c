-- Insert notification, once per queue that received available rows, inside the inserting
-- transaction (spec 03-insert, notifications).
SELECT pg_notify(concat(coalesce(?::text, current_schema()), '.river_insert'), '{"queue":' || to_json(q)::text || '}')
FROM unnest(?::text[]) AS q
