-- Send a payload on <schema>.river_leadership, e.g. request_resign (spec/10-leadership.md#resign).
SELECT pg_notify(concat(coalesce(%(schema)s::text, current_schema()), '.river_leadership'), %(payload)s)
