-- Records one applied main version in the pre-005 ledger (spec/01-schema.md#river-migration).
INSERT INTO /* TEMPLATE: schema */river_migration (version)
VALUES (%(version)s);
