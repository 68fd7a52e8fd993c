-- Whether the jobs table holds any row (`riverboat bench` refuses to truncate such a table unless forced).
SELECT EXISTS (SELECT 1 FROM /* TEMPLATE: schema */river_job) AS present
