"""Resumable jobs in ``def`` workers (spec/07-complete.md#resumable): ``with
riverboat.resumable()`` in a thread, cooperative stops through ``cancellation_requested``,
and transactional checkpoints on a plain psycopg connection."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import riverboat
from riverboat import AsyncClient, Client, EventKind, JobState, QueueConfig, RawArgs, ValidationError, Workers, WorkJob
from riverboat.testing import work_job
from riverboat.worker import JobContext, bind_context
from tests import maintenance_support
from tests.helpers import await_until

aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

KIND = "resumable_sync_test"
STEP = "river:resumable_step"
CURSOR = "river:resumable_cursor"


async def test_def_worker_steps_resume_after_an_error(aconn: Any) -> None:
    ran: list[str] = []
    threads: set[str] = set()
    workers = Workers()

    @workers.register(KIND)
    def work(job: WorkJob[Any]) -> None:
        threads.add(threading.current_thread().name)
        with riverboat.resumable() as steps:
            steps.step("fetch", lambda: ran.append("fetch"))

            def rows(cursor: Any) -> None:
                for row in range(cursor or 0, 5):
                    if row == 3 and job.args["fail"]:
                        raise RuntimeError("row 3")
                    ran.append(f"row {row}")
                    steps.set_cursor(row + 1)

            steps.step_cursor("rows", rows)
            steps.step("report", lambda: ran.append("report"))

    worker = workers.get(KIND)
    assert worker is not None
    first = await asyncio.wait_for(work_job(aconn, worker, {"fail": True}), timeout=60)
    assert threads
    assert threading.main_thread().name not in threads
    assert ran == ["fetch", "row 0", "row 1", "row 2"]
    assert (first.kind, first.job.metadata) == (EventKind.FAILED, {STEP: "fetch", CURSOR: {"rows": 3}})
    ran.clear()
    second = await asyncio.wait_for(work_job(aconn, worker, {"fail": False}, metadata=first.job.metadata), timeout=60)
    assert ran == ["row 3", "row 4", "report"]
    assert second.kind == EventKind.COMPLETED


def test_a_def_step_that_returns_when_told_to_stop_keeps_its_cursor(river_url: str) -> None:
    """The executor's side (the flag raised on a timeout, cancel or stop; the attempt then
    ending without success) is the executor's; here the flag is raised by hand."""
    with Client(river_url) as client:
        job = client.job_get(client.insert(RawArgs(KIND, {})).job.id)
    context = JobContext(job)
    looping = threading.Event()
    ran: list[str] = []

    def work() -> None:
        bind_context(context)
        with riverboat.resumable() as steps:
            steps.step("fetch", lambda: ran.append("fetch"))

            def rows(cursor: Any) -> None:
                row = cursor or 0
                while not riverboat.cancellation_requested():
                    steps.set_cursor(row)
                    row += 1
                    looping.set()
                    threading.Event().wait(0.001)
                ran.append("stopped")

            steps.step_cursor("rows", rows)
            # Told to stop: no further step starts.
            steps.step("report", lambda: ran.append("report"))

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
    thread.start()
    assert looping.wait(60)
    context.request_cancel("job timed out after 0.2 s")
    thread.join(60)
    assert ran == ["fetch", "stopped"]
    # "rows" returned, but it was stopped, not finished: its cursor is kept.
    assert context.metadata_updates[STEP] == "fetch"
    assert isinstance(context.metadata_updates[CURSOR]["rows"], int)


async def test_def_worker_bad_input_is_named(aconn: Any) -> None:
    raised: list[ValidationError] = []
    workers = Workers()

    @workers.register(KIND)
    def work(job: WorkJob[Any]) -> None:
        with riverboat.resumable() as steps:
            steps.step("once", lambda: None)
            try:
                steps.step("once", lambda: None)
            except ValidationError as exc:
                raised.append(exc)

    worker = workers.get(KIND)
    assert worker is not None
    event = await asyncio.wait_for(work_job(aconn, worker, {}), timeout=60)
    assert [(e.field, e.rule) for e in raised] == [("step", "duplicate")]
    assert event.kind == EventKind.FAILED


async def test_def_worker_checkpoints_in_its_transaction(db_url: str) -> None:
    seen: list[tuple[int, Any]] = []
    workers = Workers()

    @workers.register(KIND, next_retry=lambda job: datetime.now(UTC))
    def work(job: WorkJob[Any]) -> None:
        with riverboat.resumable() as steps, psycopg.connect(db_url) as conn:

            def batches(cursor: Any) -> None:
                seen.append((job.attempt, cursor))
                for batch in range(cursor or 0, 3):
                    with conn.transaction():
                        conn.execute("SELECT 1")  # the batch's own writes would go here
                        steps.set_step_cursor_tx(conn, batch + 1)
                    if job.attempt == 1 and batch == 0:
                        raise RuntimeError("crash after batch 0")

            steps.step_cursor("batches", batches)

    queues = {"default": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))}
    async with AsyncClient(db_url, queues=queues, workers=workers) as client:
        job_id = (await client.insert(RawArgs(KIND, {}))).job.id
        await client.start()
        try:
            done = await await_until(lambda: _completed(client, job_id), timeout=60, what="job completed")
        finally:
            await client.stop()
    assert seen == [(1, None), (2, 1)]
    assert done.metadata == {STEP: "batches", CURSOR: {"batches": 3}}


async def _completed(client: AsyncClient, job_id: int) -> Any:
    job = await client.job_get(job_id)
    return job if job.state == JobState.COMPLETED else None
