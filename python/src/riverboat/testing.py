"""Helpers for users' tests: assert what was inserted, and work one job through the real
executor inside a transaction (spec/07-complete.md#testing-helpers)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from riverboat._completion import set_state_params
from riverboat._execute import JobExecutor, Running
from riverboat._queries import query
from riverboat._retry import DefaultRetryPolicy, RetryPolicy
from riverboat._threads import DaemonThreads
from riverboat.events import Event, event_kind
from riverboat.job import Job
from riverboat.worker import JobContext, Worker, Workers


def _kind(args_type: Any) -> str:
    return args_type if isinstance(args_type, str) else str(args_type.kind)


def _matches(job: Job, expected: dict[str, Any]) -> bool:
    for key, want in expected.items():
        if key in Job.__dataclass_fields__:
            if getattr(job, key) != want:
                return False
        elif not isinstance(job.args, dict) or job.args.get(key) != want:
            return False
    return True


def _jobs(conn: psycopg.Connection[Any], kind: str, schema: str | None) -> list[Job]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("job_get_by_kind", schema), {"kind": kind})
        return [Job.from_row(row) for row in cur.fetchall()]


def require_inserted(
    conn: psycopg.Connection[Any], args_type: Any, *, schema: str | None = None, **expected: Any
) -> Job:
    """Assert that exactly one job of ``args_type``'s kind (a class with ``kind``, or a kind
    string) matches ``expected``, and return it. Keys naming a ``river_job`` column (queue,
    priority, state, tags, metadata, ...) compare with the row; other keys with the args."""
    kind = _kind(args_type)
    jobs = _jobs(conn, kind, schema)
    found = [job for job in jobs if _matches(job, expected)]
    if len(found) != 1:
        raise AssertionError(
            f"expected exactly one inserted {kind} job matching {expected!r}; "
            f"found {len(found)} of {len(jobs)} {kind} jobs"
        )
    return found[0]


def require_not_inserted(
    conn: psycopg.Connection[Any], args_type: Any, *, schema: str | None = None, **expected: Any
) -> None:
    """Assert that no job of ``args_type``'s kind matches ``expected`` (any job, if empty)."""
    kind = _kind(args_type)
    found = [job for job in _jobs(conn, kind, schema) if _matches(job, expected)]
    if found:
        raise AssertionError(
            f"expected no inserted {kind} job matching {expected!r}; found ids {[j.id for j in found]}"
        )


def _args_json(args: Any) -> Any:
    if dataclasses.is_dataclass(args) and not isinstance(args, type):
        return json.loads(json.dumps(dataclasses.asdict(args)))
    return args


async def work_job(
    conn: psycopg.AsyncConnection[Any],
    worker: Worker[Any],
    args: Any,
    *,
    queue: str = "default",
    priority: int = 1,
    max_attempts: int = 25,
    metadata: dict[str, Any] | None = None,
    job_timeout: timedelta = timedelta(minutes=1),
    retry_policy: RetryPolicy | None = None,
    schema: str | None = None,
) -> Event:
    """Insert one running job of ``worker``'s kind, work it with the real executor and store
    its completion, all inside one transaction of ``conn`` (rolled back if the caller's
    surrounding transaction is). Returns the outcome event with the row as stored."""
    executor = JobExecutor(
        workers=Workers(worker), retry_policy=retry_policy or DefaultRetryPolicy(), job_timeout=job_timeout
    )
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            query("job_insert_running", schema),
            {
                "max_attempts": max_attempts,
                "client_id": "riverboat_testing",
                "args": Jsonb(_args_json(args)),
                "kind": worker.kind,
                "metadata": Jsonb(metadata or {}),
                "queue": queue,
                "priority": priority,
            },
        )
        inserted = await cur.fetchone()
        assert inserted is not None
        job = Job.from_row(inserted)
        # Run in the caller's task, which is the one a timeout or cancel interrupts.
        threads = DaemonThreads("riverboat-testing")
        try:
            completion = await executor.execute(job, Running(JobContext(job), asyncio.current_task()), threads)
        finally:
            threads.close()
        statement = query("job_set_state_if_running_many", schema)
        await cur.execute(statement, set_state_params([completion], read_rows=True))
        stored = await cur.fetchone()
        assert stored is not None
    final = Job.from_row(stored)
    return Event(kind=event_kind(final.state, completion.outcome), job=final, duration=completion.duration)
