-- Insert one job already running, as a fetch would leave it, for riverboat.testing's work_job (spec/07-complete.md#testing-helpers).
INSERT INTO /* TEMPLATE: schema */river_job AS job
    (state, attempt, max_attempts, attempted_at, attempted_by, args, kind, metadata, queue, priority)
VALUES ('running', 1, %(max_attempts)s::smallint, now(), ARRAY[%(client_id)s::text], %(args)s::jsonb, %(kind)s::text,
    %(metadata)s::jsonb, %(queue)s::text, %(priority)s::smallint)
RETURNING job.id, job.state::text AS state, job.attempt, job.max_attempts, job.attempted_at, job.created_at,
    job.finalized_at, job.scheduled_at, job.priority, job.args, job.attempted_by, job.errors, job.kind,
    job.metadata, job.queue, job.tags, job.unique_key, job.unique_states::text AS unique_states
