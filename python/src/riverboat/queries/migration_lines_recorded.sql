-- Every migration line with a recorded version (spec/01-schema.md#river-migration).
SELECT DISTINCT line
FROM /* TEMPLATE: schema */river_migration
ORDER BY line;
