-- main 008 down: nothing to do on Postgres (spec/01-schema.md#migration-lines).
SELECT 1;
