-- Serialises migrators of one schema for the rest of the transaction (spec/01-schema.md#applying-migrations).
SELECT pg_advisory_xact_lock(hashtext('riverboat.migrate'), hashtext(coalesce(%(schema)s::text, current_schema()::text)));
