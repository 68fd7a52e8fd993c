-- Records one applied version of a line (spec/01-schema.md#river-migration).
INSERT INTO /* TEMPLATE: schema */river_migration (line, version)
VALUES (%(line)s, %(version)s);
