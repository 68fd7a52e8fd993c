-- Forgets one reverted main version in the pre-005 ledger (spec/01-schema.md#river-migration).
DELETE FROM /* TEMPLATE: schema */river_migration
WHERE version = %(version)s;
