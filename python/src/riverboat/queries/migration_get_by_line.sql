-- Versions recorded for one migration line, oldest first (spec/01-schema.md#river-migration).
SELECT version, created_at
FROM /* TEMPLATE: schema */river_migration
WHERE line = %(line)s
ORDER BY version;
