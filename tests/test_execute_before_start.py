"""A job told to stop before its task took its first step: a task cancelled that early runs
none of its code (cleanup included), so the executor is never cancelled before it begins; it
checks for the request as it begins instead."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from riverboat import DefaultRetryPolicy
from riverboat._complete import BatchCompleter
from riverboat._execute import CANCELLED_REMOTELY, STOPPED, JobExecutor, Running
from riverboat._fetch import Producer
from riverboat._states import JobState
from riverboat.job import Job
from riverboat.worker import JobContext, QueueConfig, Worker, Workers, WorkJob

NOW = datetime(2026, 1, 2, tzinfo=UTC)


class Recorded(Worker[Any]):
    kind = "recorded"

    def __init__(self) -> None:
        self.ran = False

    async def work(self, job: WorkJob[Any]) -> None:
        self.ran = True


def job() -> Job:
    return Job(
        id=7, state=JobState.RUNNING, attempt=1, max_attempts=25, attempted_at=NOW, created_at=NOW,
        finalized_at=None, scheduled_at=NOW, priority=1, args={}, attempted_by=["me"], errors=[], kind="recorded",
        metadata={}, queue="default", tags=[], unique_key=None, unique_states=None,
    )  # fmt: skip


def started_task(worker: Recorded) -> tuple[Running, asyncio.Task[Any]]:
    executor = JobExecutor(workers=Workers(worker), retry_policy=DefaultRetryPolicy(), job_timeout=timedelta(minutes=1))
    the_job = job()
    running = Running(JobContext(the_job))
    running.task = asyncio.create_task(executor.execute(the_job, running, None))
    return running, running.task


@pytest.mark.parametrize(("reason", "state"), [(CANCELLED_REMOTELY, "cancelled"), (STOPPED, "available")])
async def test_a_cancel_before_the_first_step_ends_the_job_as_it_would_later(reason: str, state: str) -> None:
    worker = Recorded()
    running, task = started_task(worker)
    running.cancel(reason)
    completion = await task
    assert completion.state == state
    assert not worker.ran


async def test_abandoned_before_the_first_step_the_job_is_left_running() -> None:
    worker = Recorded()
    running, task = started_task(worker)
    running.abandon()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not worker.ran


def fetched_row(job_id: int) -> dict[str, Any]:
    return {**dataclasses.asdict(job()), "id": job_id, "state": "running", "unique_states": None}


async def test_a_stop_that_cancels_every_job_reaches_jobs_fetched_but_not_started() -> None:
    worker = Recorded()
    executor = JobExecutor(workers=Workers(worker), retry_policy=DefaultRetryPolicy(), job_timeout=timedelta(minutes=1))
    pool = AsyncConnectionPool("postgresql://unused", open=False)
    completer = BatchCompleter(pool=pool, schema=None)
    producer = Producer(
        queue="default", config=QueueConfig(), pool=pool, schema=None, client_id="me", executor=executor,
        completer=completer,
    )  # fmt: skip
    # A fetch's rows are taken, their tasks to be made at the loop's next turn; the stop comes first.
    producer._launch_soon([fetched_row(1), fetched_row(2)])
    producer.cancel_all()
    await producer.wait_idle()
    assert not worker.ran
    assert sorted(c.state for c in completer._pending.values()) == ["available", "available"]
