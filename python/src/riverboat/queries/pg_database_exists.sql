-- Whether a database of this name exists in the cluster (the development database creates its own once).
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %(name)s) AS present;
