-- main 005 down: the ledger goes back to its version-only shape; unique_key and the river_client tables
-- go (spec/01-schema.md#river-migration).

-- Refuses while other lines are recorded: the old shape has nowhere to keep them.
DO $migrate$
BEGIN
    IF to_regclass('/* TEMPLATE: schema */river_migration') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM /* TEMPLATE: schema */river_migration WHERE line <> 'main') THEN
            RAISE EXCEPTION 'main version 005 cannot be reverted while other migration lines are recorded in river_migration; revert those lines first';
        END IF;

        ALTER TABLE /* TEMPLATE: schema */river_migration RENAME TO river_migration_old;

        CREATE TABLE /* TEMPLATE: schema */river_migration (
            id bigserial PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            version bigint NOT NULL,
            CONSTRAINT version CHECK (version >= 1)
        );
        CREATE UNIQUE INDEX ON /* TEMPLATE: schema */river_migration USING btree (version);

        INSERT INTO /* TEMPLATE: schema */river_migration (created_at, version)
            SELECT created_at, version FROM /* TEMPLATE: schema */river_migration_old;

        DROP TABLE /* TEMPLATE: schema */river_migration_old;
    END IF;
END;
$migrate$ LANGUAGE plpgsql;

ALTER TABLE /* TEMPLATE: schema */river_job DROP COLUMN unique_key;

DROP TABLE /* TEMPLATE: schema */river_client_queue;
DROP TABLE /* TEMPLATE: schema */river_client;
