-- Vacuum and analyze the jobs table so that every benchmark run starts from fresh statistics (`riverboat bench`).
VACUUM ANALYZE /* TEMPLATE: schema */river_job
