-- Forgets one reverted version of a line (spec/01-schema.md#river-migration).
DELETE FROM /* TEMPLATE: schema */river_migration
WHERE line = %(line)s AND version = %(version)s;
