-- main 002 down: removes the job table, its trigger function, the state enum and river_leader
-- (spec/01-schema.md#river-job).
DROP TABLE /* TEMPLATE: schema */river_job;
DROP FUNCTION /* TEMPLATE: schema */river_job_notify;
DROP TYPE /* TEMPLATE: schema */river_job_state;
DROP TABLE /* TEMPLATE: schema */river_leader;
