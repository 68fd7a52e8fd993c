-- Send a payload on <schema>.river_control: pause, resume, metadata_changed (spec/09-notifications.md).
SELECT pg_notify(concat(coalesce(%(schema)s::text, current_schema()), '.river_control'), %(payload)s::text)
