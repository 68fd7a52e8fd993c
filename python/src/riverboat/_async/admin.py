"""Admin operations on jobs, queues and leadership (spec/12-queues-and-admin.md).

Each takes a connection and the schema (``None``: the connection's search_path) and runs
in its own transaction, or in a savepoint of the caller's. The clients' admin methods
call these; the sync twin in ``_sync/admin.py`` is generated from this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row

from riverboat._queries import query
from riverboat._rules import ALL_QUEUES, ATTEMPT_LIMIT, validate_count, validate_job_id, validate_queue_name
from riverboat._states import JobState
from riverboat._time import format_time
from riverboat.admin import (
    QUEUE_LIST_LIMIT_DEFAULT,
    JobListCursor,
    JobListParams,
    JobListResult,
    LeaderRow,
    Queue,
    job_delete_many_check,
    job_update_metadata,
)
from riverboat.errors import (
    JobNotFoundError,
    JobRunningError,
    QueueNotFoundError,
    UniqueConflictError,
    ValidationError,
)
from riverboat.job import Job


async def _fetch_one(
    conn: AsyncConnection[Any], name: str, schema: str | None, params: dict[str, Any]
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query(name, schema), params)
        return await cur.fetchone()


async def _fetch_all(
    conn: AsyncConnection[Any], name: str, schema: str | None, params: dict[str, Any]
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query(name, schema), params)
        return await cur.fetchall()


async def job_get(conn: AsyncConnection[Any], schema: str | None, job_id: int) -> Job:
    """The job with ``job_id``; ``JobNotFoundError`` if there is none."""
    row = await _fetch_one(conn, "job_get_by_id", schema, {"id": validate_job_id(job_id)})
    if row is None:
        raise JobNotFoundError(job_id)
    return Job.from_row(row)


async def job_list(
    conn: AsyncConnection[Any], schema: str | None, params: JobListParams | None = None
) -> JobListResult:
    """Jobs matching ``params``' filters, in its order, one page of ``params.limit``."""
    params = params or JobListParams()
    rows = await _fetch_all(conn, "job_list", schema, params.query_params())
    next_cursor = None
    if len(rows) == params.limit:
        last = rows[-1]
        time = None if params.order_by == "id" else last[params.order_by]
        next_cursor = JobListCursor(params.order_by, params.descending, last["id"], time).encode()
    return JobListResult([Job.from_row(r) for r in rows], next_cursor)


async def job_count_by_state(
    conn: AsyncConnection[Any],
    schema: str | None,
    *,
    kinds: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
) -> dict[JobState, int]:
    """How many jobs are in each state (every state, zeros included), optionally only of
    ``kinds`` and in ``queues``: River UI's state counts, exact."""
    params = {"kinds": None if kinds is None else list(kinds), "queues": None if queues is None else list(queues)}
    counts = dict.fromkeys(JobState, 0)
    for row in await _fetch_all(conn, "job_count_by_state", schema, params):
        counts[JobState(row["state"])] = row["count"]
    return counts


async def job_cancel(conn: AsyncConnection[Any], schema: str | None, job_id: int) -> Job:
    """Cancel a job: not yet running → ``cancelled`` now; running → ``cancel_attempted_at``
    is set and a ``river_control`` cancel notification asks its worker to stop; already
    finalized → unchanged. Returns the row after the change."""
    now = datetime.now(UTC)
    async with conn.transaction():
        row = await _fetch_one(
            conn,
            "job_cancel",
            schema,
            {
                "id": validate_job_id(job_id),
                "now": None,
                "schema": schema,
                "cancel_attempted_at": json.dumps(format_time(now)),
            },
        )
    if row is None:
        raise JobNotFoundError(job_id)
    return Job.from_row(row)


async def job_retry(conn: AsyncConnection[Any], schema: str | None, job_id: int) -> Job:
    """Make a job available to run now (River's rules: never a running job; a job that
    used all attempts gets one more). ``UniqueConflictError`` if a live job now holds
    its unique key; ``ValidationError`` (field ``attempt``) for a job at the largest
    attempt, which no fetch can take (spec/06-fetch.md#the-fetch-statement)."""
    params = {"id": validate_job_id(job_id), "now": None, "attempt_limit": ATTEMPT_LIMIT}
    try:
        async with conn.transaction():
            row = await _fetch_one(conn, "job_retry", schema, params)
    except UniqueViolation as exc:
        raise UniqueConflictError(job_id) from exc
    if row is None:
        raise JobNotFoundError(job_id)
    if row["attempt"] >= ATTEMPT_LIMIT and row["state"] != "running":
        raise ValidationError(
            "attempt",
            "range",
            f"job {job_id} is at attempt {row['attempt']}, the largest the column holds: fetching it again would "
            "fail every fetch of its queue; delete the job or lower its attempt",
        )
    return Job.from_row(row)


async def job_delete(conn: AsyncConnection[Any], schema: str | None, job_id: int) -> Job:
    """Delete a job and return it; ``JobRunningError`` for a running job."""
    async with conn.transaction():
        row = await _fetch_one(conn, "job_delete", schema, {"id": validate_job_id(job_id)})
    if row is None:
        raise JobNotFoundError(job_id)
    if row["state"] == "running":
        raise JobRunningError(job_id)
    return Job.from_row(row)


async def job_delete_many(
    conn: AsyncConnection[Any], schema: str | None, params: JobListParams, *, unsafe_all: bool = False
) -> list[Job]:
    """Delete up to ``params.limit`` jobs matching its filters (never running ones). Without
    a filter nothing is deleted unless ``unsafe_all`` is true (River's ``UnsafeAll``)."""
    job_delete_many_check(params, unsafe_all)
    async with conn.transaction():
        rows = await _fetch_all(conn, "job_delete_many", schema, params.query_params())
    jobs = [Job.from_row(r) for r in rows]
    return sorted(jobs, key=lambda job: (getattr(job, params.order_by), job.id), reverse=params.descending)


async def job_update(conn: AsyncConnection[Any], schema: str | None, job_id: int, output: Any = None) -> Job:
    """River's JobUpdate: set the job's ``metadata.output`` to ``output``. Without an
    ``output`` (``None``), inside ``work`` of this job the output recorded so far with
    ``record_output`` is written; otherwise the row is returned unchanged."""
    return await job_merge_metadata(conn, schema, job_id, job_update_metadata(job_id, output))


async def job_merge_metadata(
    conn: AsyncConnection[Any], schema: str | None, job_id: int, updates: Mapping[str, Any] | None
) -> Job:
    """Merge ``updates`` (JSON values) into a job's metadata, whatever its state; ``None``
    leaves it as it is. Returns the row."""
    params = {"id": validate_job_id(job_id), "metadata": None if updates is None else json.dumps(dict(updates))}
    async with conn.transaction():
        row = await _fetch_one(conn, "job_update", schema, params)
    if row is None:
        raise JobNotFoundError(job_id)
    return Job.from_row(row)


async def queue_get(conn: AsyncConnection[Any], schema: str | None, name: str) -> Queue:
    """The queue named ``name``; ``QueueNotFoundError`` if no client registered it."""
    row = await _fetch_one(conn, "queue_get", schema, {"name": validate_queue_name(name)})
    if row is None:
        raise QueueNotFoundError(name)
    return Queue.from_row(row)


async def queue_list(
    conn: AsyncConnection[Any], schema: str | None, limit: int = QUEUE_LIST_LIMIT_DEFAULT
) -> list[Queue]:
    """Registered queues by name."""
    validate_count("limit", limit)
    return [Queue.from_row(r) for r in await _fetch_all(conn, "queue_list", schema, {"limit": limit})]


async def _pause_or_resume(conn: AsyncConnection[Any], schema: str | None, name: str, action: str) -> None:
    validate_queue_name(name, allow_all=True)
    async with conn.transaction():
        cur = await conn.execute(query(f"queue_{action}", schema), {"name": name, "now": None})
        if cur.rowcount < 1 and name != ALL_QUEUES:
            raise QueueNotFoundError(name)
        payload = json.dumps({"action": action, "queue": name})
        await conn.execute(query("control_notify", schema), {"schema": schema, "payload": payload})


async def queue_pause(conn: AsyncConnection[Any], schema: str | None, name: str) -> None:
    """Pause a queue (``'*'``: every queue): durable ``paused_at`` plus a ``pause``
    notification so producers, River Go's and riverboat's, stop fetching from it."""
    await _pause_or_resume(conn, schema, name, "pause")


async def queue_resume(conn: AsyncConnection[Any], schema: str | None, name: str) -> None:
    """Resume a queue (``'*'``: every queue); clears ``paused_at`` and notifies ``resume``."""
    await _pause_or_resume(conn, schema, name, "resume")


async def queue_update(conn: AsyncConnection[Any], schema: str | None, name: str, metadata: dict[str, Any]) -> Queue:
    """Replace a queue's metadata and announce it with ``metadata_changed``."""
    validate_queue_name(name)
    if not isinstance(metadata, dict):
        raise ValidationError("metadata", "type", "must be a JSON object", metadata)
    async with conn.transaction():
        row = await _fetch_one(conn, "queue_update", schema, {"name": name, "metadata": json.dumps(metadata)})
        if row is None:
            raise QueueNotFoundError(name)
        payload = json.dumps({"action": "metadata_changed", "metadata": metadata, "queue": name})
        await conn.execute(query("control_notify", schema), {"schema": schema, "payload": payload})
    return Queue.from_row(row)


async def leader_get(conn: AsyncConnection[Any], schema: str | None) -> LeaderRow | None:
    """The elected leader (River Go or riverboat), or ``None``."""
    row = await _fetch_one(conn, "leader_get_elected", schema, {})
    return None if row is None else LeaderRow.from_row(row)


async def leader_request_resign(conn: AsyncConnection[Any], schema: str | None) -> None:
    """Ask the current leader, whichever language, to step down and re-run election."""
    payload = json.dumps({"action": "request_resign", "leader_id": ""})
    await conn.execute(query("leadership_notify", schema), {"schema": schema, "payload": payload})
