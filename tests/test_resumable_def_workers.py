"""Resumable jobs in ``def`` workers (spec/07-complete.md#resumable), worked by a running
client: ``with riverboat.resumable()`` in a worker thread, cooperative stops through
``cancellation_requested``, and transactional checkpoints on a plain psycopg connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import riverboat
from riverboat import AsyncClient, Job, JobState, QueueConfig, RawArgs, ValidationError, Workers, WorkJob
from tests.helpers import await_until

KIND = "resumable_sync_test"
STEP = "river:resumable_step"
CURSOR = "river:resumable_cursor"
QUEUES = {"default": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))}
AT_ONCE: Callable[[WorkJob[Any]], datetime] = lambda job: datetime.now(UTC)  # noqa: E731
IN_AN_HOUR: Callable[[WorkJob[Any]], datetime] = lambda job: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731


async def _work_until(db_url: str, workers: Workers, states: set[JobState]) -> Job:
    """Insert one job of the test kind and work it until it reaches one of ``states``."""
    async with AsyncClient(db_url, queues=QUEUES, workers=workers) as client:
        job_id = (await client.insert(RawArgs(KIND, {}))).job.id
        await client.start()
        try:
            return await await_until(lambda: _in(client, job_id, states), timeout=60, what=f"job in {states}")
        finally:
            await client.stop()


async def _in(client: AsyncClient, job_id: int, states: set[JobState]) -> Job | None:
    job = await client.job_get(job_id)
    return job if job.state in states else None


async def test_def_worker_steps_resume_after_an_error(db_url: str) -> None:
    ran: list[tuple[int, str]] = []
    threads: set[str] = set()
    workers = Workers()

    @workers.register(KIND, next_retry=AT_ONCE)
    def work(job: WorkJob[Any]) -> None:
        threads.add(threading.current_thread().name)
        with riverboat.resumable() as steps:
            steps.step("fetch", lambda: ran.append((job.attempt, "fetch")))

            def rows(cursor: Any) -> None:
                for row in range(cursor or 0, 5):
                    if row == 3 and job.attempt == 1:
                        raise RuntimeError("row 3")
                    ran.append((job.attempt, f"row {row}"))
                    steps.set_cursor(row + 1)

            steps.step_cursor("rows", rows)
            steps.step("report", lambda: ran.append((job.attempt, "report")))

    done = await _work_until(db_url, workers, {JobState.COMPLETED})
    assert threading.current_thread().name not in threads
    assert ran == [(1, "fetch"), (1, "row 0"), (1, "row 1"), (1, "row 2"), (2, "row 3"), (2, "row 4"), (2, "report")]
    assert done.errors[0].error == "RuntimeError: row 3"
    # Success writes no progress: what the failed attempt saved stays.
    assert done.metadata == {STEP: "fetch", CURSOR: {"rows": 3}}


async def test_a_def_step_told_to_stop_raises_and_keeps_its_cursor(db_url: str) -> None:
    ran: list[str] = []
    workers = Workers()

    @workers.register(KIND, timeout=timedelta(milliseconds=200), next_retry=IN_AN_HOUR)
    def work(job: WorkJob[Any]) -> None:
        with riverboat.resumable() as steps:
            steps.step("fetch", lambda: ran.append("fetch"))

            def rows(cursor: Any) -> None:
                row = cursor or 0
                while not riverboat.cancellation_requested():
                    steps.set_cursor(row)
                    row += 1
                    threading.Event().wait(0.001)
                raise RuntimeError(f"stopped before row {row}")

            steps.step_cursor("rows", rows)
            steps.step("report", lambda: ran.append("report"))

    failed = await _work_until(db_url, workers, {JobState.RETRYABLE})
    assert ran == ["fetch"]
    assert failed.errors[0].error.startswith("RuntimeError: stopped before row")
    assert failed.metadata[STEP] == "fetch"
    assert isinstance(failed.metadata[CURSOR]["rows"], int)


async def test_def_worker_bad_input_is_named(db_url: str) -> None:
    raised: list[ValidationError] = []
    workers = Workers()

    @workers.register(KIND, next_retry=IN_AN_HOUR)
    def work(job: WorkJob[Any]) -> None:
        with riverboat.resumable() as steps:
            steps.step("once", lambda: None)
            try:
                steps.step("once", lambda: None)
            except ValidationError as exc:
                raised.append(exc)

    failed = await _work_until(db_url, workers, {JobState.RETRYABLE})
    assert [(e.field, e.rule) for e in raised] == [("step", "duplicate")]
    assert "invalid step (duplicate)" in failed.errors[0].error
    assert failed.metadata == {STEP: "once"}


async def test_def_worker_checkpoints_in_its_transaction(db_url: str) -> None:
    seen: list[tuple[int, Any]] = []
    workers = Workers()

    @workers.register(KIND, next_retry=AT_ONCE)
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

    done = await _work_until(db_url, workers, {JobState.COMPLETED})
    assert seen == [(1, None), (2, 1)]
    assert done.metadata == {STEP: "batches", CURSOR: {"batches": 3}}
