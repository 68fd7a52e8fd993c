-- main 008 up: nothing to do on Postgres (spec/01-schema.md#migration-lines). River's version makes SQLite
-- job ids never reuse a deleted id; a Postgres sequence already never does. The version is still recorded.
SELECT 1;
