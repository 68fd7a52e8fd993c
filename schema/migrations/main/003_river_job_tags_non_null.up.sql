-- main 003 up: river_job.tags becomes NOT NULL with default '{}' (spec/01-schema.md#river-job).
ALTER TABLE /* TEMPLATE: schema */river_job ALTER COLUMN tags SET DEFAULT '{}';
-- Existing NULLs must be filled before the constraint can be added.
UPDATE /* TEMPLATE: schema */river_job SET tags = '{}' WHERE tags IS NULL;
ALTER TABLE /* TEMPLATE: schema */river_job ALTER COLUMN tags SET NOT NULL;
