-- Empty the jobs table before a benchmark run (`riverboat bench`; never used by a client).
TRUNCATE /* TEMPLATE: schema */river_job
