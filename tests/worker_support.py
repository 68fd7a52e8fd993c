"""Shared helpers for the worker tests: raw inserts (independent of the insert client) and a runtime harness."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from riverboat import KEEP_FOREVER, AsyncClient, Hook, Job, Worker
from riverboat._runtime import Runtime
from riverboat._settings import work_settings
from riverboat.worker import QueueConfig, Workers
from tests.helpers import await_until


def insert_jobs(
    conn: psycopg.Connection[Any],
    kind: str,
    args_list: list[Any],
    *,
    queue: str = "default",
    max_attempts: int = 25,
    metadata: Mapping[str, Any] | None = None,
    state: str = "available",
    notify: bool = False,
) -> list[int]:
    rows = conn.execute(
        """INSERT INTO river_job (args, kind, queue, max_attempts, metadata, state)
           SELECT a, %(kind)s, %(queue)s, %(max_attempts)s, %(metadata)s::jsonb, %(state)s::river_job_state
           FROM unnest(%(args)s::jsonb[]) AS a RETURNING id""",
        {
            "args": [json.dumps(a) for a in args_list],
            "kind": kind,
            "queue": queue,
            "max_attempts": max_attempts,
            "metadata": json.dumps(dict(metadata or {})),
            "state": state,
        },
    ).fetchall()
    if notify:
        conn.execute(
            "SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', %s::text)::text)",
            (queue,),
        )
    return [r[0] for r in rows]


def job_row(conn: psycopg.Connection[Any], job_id: int) -> dict[str, Any]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    row = cur.execute("SELECT *, state::text AS state FROM river_job WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def states(conn: psycopg.Connection[Any], ids: list[int]) -> list[str]:
    return [
        r[0]
        for r in conn.execute("SELECT state::text FROM river_job WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()
    ]


FAST_POLL = timedelta(milliseconds=100)
#: ``work_settings`` arguments of a runtime without leader election, keeping every job.
WORK_DEFAULTS: dict[str, Any] = {
    "client_id": None,
    "retry_policy": None,
    "job_timeout": None,
    "soft_stop_timeout": None,
    "poll_only": False,
    "leader_election": False,
    "periodic_jobs": (),
    "rescue_stuck_jobs_after": None,
    "completed_job_retention": KEEP_FOREVER,
    "cancelled_job_retention": KEEP_FOREVER,
    "discarded_job_retention": KEEP_FOREVER,
}


@asynccontextmanager
async def running_runtime(
    db_url: str,
    workers: Workers,
    *,
    queues: Mapping[str, QueueConfig] | None = None,
    hooks: Sequence[Hook] = (),
    **options: Any,
) -> AsyncIterator[Runtime]:
    async with AsyncConnectionPool(db_url, min_size=2, max_size=10, open=False, kwargs={"autocommit": True}) as pool:
        settings = work_settings(
            **{
                **WORK_DEFAULTS,
                "queues": queues
                or {"default": QueueConfig(max_workers=10, fetch_poll_interval=timedelta(milliseconds=100))},
                "workers": workers,
                **options,
            }
        )
        assert settings is not None
        runtime = Runtime(pool=pool, listener_conninfo=db_url, settings=settings, hooks=hooks)
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.stop_and_cancel()


async def work_until_finalized(db_url: str, job_ids: list[int], *workers: Worker[Any], **options: Any) -> list[Job]:
    """Run an ``AsyncClient`` of ``workers`` (and client ``options``) until every job of
    ``job_ids`` is completed, cancelled or discarded; their rows then."""
    quick = QueueConfig(fetch_cooldown=timedelta(milliseconds=20), fetch_poll_interval=timedelta(milliseconds=50))
    client = AsyncClient(db_url, queues={"default": quick}, workers=Workers(*workers), leader_election=False, **options)
    await client.start()
    try:

        async def finalized() -> list[Job] | None:
            jobs = [await client.job_get(job_id) for job_id in job_ids]
            return jobs if all(job.finalized_at is not None for job in jobs) else None

        return await await_until(finalized, timeout=60, what=f"jobs {job_ids} finalized")
    finally:
        await client.close()
