-- Whether river_migration exists and whether it has the line column added by main 005
-- (spec/01-schema.md#river-migration). No schema given: the first schema on the search path.
SELECT
    EXISTS (
        SELECT 1 FROM pg_catalog.pg_tables
        WHERE schemaname = coalesce(%(schema)s::text, current_schema()::text) AND tablename = 'river_migration'
    ) AS table_exists,
    EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = coalesce(%(schema)s::text, current_schema()::text)
            AND table_name = 'river_migration'
            AND column_name = 'line'
    ) AS line_exists;
