-- main 001 up: the first, version-only shape of the migration ledger (spec/01-schema.md#river-migration).
-- Version 005 rebuilds it keyed by (line, version).
CREATE TABLE /* TEMPLATE: schema */river_migration (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL,
    CONSTRAINT version CHECK (version >= 1)
);

-- Unnamed on purpose: Postgres names it river_migration_version_idx, as River's does.
CREATE UNIQUE INDEX ON /* TEMPLATE: schema */river_migration USING btree (version);
