-- Complete a batch of jobs whose outcome is a plain completion: no metadata to merge and no
-- rows to send back (spec/07-complete.md#plain-completions). The same row change as the
-- completion statement makes for such outcomes, for less work on the server.
UPDATE /* TEMPLATE: schema */river_job AS job
SET state = 'completed',
    finalized_at = o.finalized_at
FROM unnest(
    %(id)b::bigint[],
    %(finalized_at)b::timestamptz[],
    %(attempted_at)b::timestamptz[]
) AS o(id, finalized_at, attempted_at)
WHERE job.id = o.id
  AND job.state = 'running'
  -- Only the attempt this outcome belongs to (attempted_at NULL: any), as in the completion statement.
  AND (o.attempted_at IS NULL OR job.attempted_at = o.attempted_at)
