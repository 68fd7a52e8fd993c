-- Versions recorded in the pre-005 ledger, which has no line column and holds only the main line
-- (spec/01-schema.md#river-migration).
SELECT version, created_at
FROM /* TEMPLATE: schema */river_migration
ORDER BY version;
