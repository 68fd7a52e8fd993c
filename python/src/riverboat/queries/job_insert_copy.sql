-- Bulk-insert non-unique jobs with COPY; rows are written by the client (spec/03-insert.md#bulk-insert-with-copy).
COPY /* TEMPLATE: schema */river_job (
    args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags
) FROM STDIN
