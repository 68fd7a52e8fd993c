-- main 001 down: removes the migration ledger itself (spec/01-schema.md#river-migration).
DROP TABLE /* TEMPLATE: schema */river_migration;
