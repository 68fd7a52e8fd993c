-- main 003 down: river_job.tags is nullable again, without a default (spec/01-schema.md#river-job).
ALTER TABLE /* TEMPLATE: schema */river_job ALTER COLUMN tags DROP NOT NULL, ALTER COLUMN tags DROP DEFAULT;
