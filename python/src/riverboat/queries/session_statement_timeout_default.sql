-- Give one of riverboat's own pooled connections a statement_timeout when nothing else set one
-- (conninfo, PGOPTIONS, the role's or the database's settings): spec/06-fetch.md#faults.
SELECT pg_catalog.set_config('statement_timeout', %(timeout)s::text, false)
WHERE pg_catalog.current_setting('statement_timeout') = '0';
