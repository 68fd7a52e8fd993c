-- SQL-only enqueue through riverboat's function (spec/13-sql-enqueue.md): one call per job of a JSON
-- array, in input order, in one statement; the function validates, computes unique keys, upserts and notifies.
SELECT (inserted.job).*, inserted.unique_skipped_as_duplicate
FROM jsonb_array_elements(%(jobs)s::jsonb) WITH ORDINALITY AS input (item, position)
CROSS JOIN LATERAL riverboat_job_insert_v1(item ->> 'kind', item ->> 'args', item -> 'opts') AS inserted
ORDER BY input.position
