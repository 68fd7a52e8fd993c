from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import psycopg
import pytest

from riverboat.events import EventKind
from riverboat.testing import require_inserted, require_not_inserted, work_job
from riverboat.worker import Worker, WorkJob, record_output
from tests.worker_support import insert_jobs


@dataclass
class Greet:
    kind: ClassVar[str] = "greet"
    name: str


class GreetWorker(Worker[Greet]):
    kind = "greet"
    args_type = Greet

    async def work(self, job: WorkJob[Greet]) -> None:
        if job.args.name == "fail":
            raise RuntimeError("no")
        record_output(f"hello {job.args.name}")


def test_require_inserted(conn: psycopg.Connection[Any]) -> None:
    insert_jobs(conn, "greet", [{"name": "ann"}, {"name": "bob"}], queue="q")
    job = require_inserted(conn, Greet, name="ann", queue="q")
    assert job.args == {"name": "ann"}
    require_not_inserted(conn, Greet, name="cy")
    with pytest.raises(AssertionError):
        require_inserted(conn, Greet)
    with pytest.raises(AssertionError):
        require_not_inserted(conn, "greet", queue="q")


async def test_work_job_in_a_transaction(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        event = await work_job(conn, GreetWorker(), Greet("ann"))
        assert event.kind == EventKind.COMPLETED
        assert event.job.metadata["output"] == "hello ann"
        failed = await work_job(conn, GreetWorker(), Greet("fail"), max_attempts=1)
        assert failed.kind == EventKind.DISCARDED
        assert failed.job.errors[0].error == "RuntimeError: no"


class SyncGreetWorker(Worker[Greet]):
    kind = "greet"
    args_type = Greet

    def work(self, job: WorkJob[Greet]) -> None:
        record_output(f"hello {job.args.name} from a thread")


async def test_work_job_runs_def_workers_in_a_thread(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        event = await work_job(conn, SyncGreetWorker(), Greet("ann"))
    assert event.kind == EventKind.COMPLETED
    assert event.job.metadata["output"] == "hello ann from a thread"


class Stubborn(Worker[Any]):
    """Runs until its timeout cancels it; with ``swallow`` it catches the cancel and finishes anyway."""

    kind = "stubborn"
    timeout = timedelta(milliseconds=50)

    async def work(self, job: WorkJob[Any]) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if not job.args["swallow"]:
                raise
            record_output("finished after its timeout")


async def test_timeouts_fail_the_attempt_unless_the_worker_finishes_anyway(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        timed_out = await asyncio.wait_for(work_job(conn, Stubborn(), {"swallow": False}), timeout=30)
        assert timed_out.kind == EventKind.FAILED
        assert timed_out.job.errors[0].error == "job timed out after 0.05 s"
        finished = await asyncio.wait_for(work_job(conn, Stubborn(), {"swallow": True}), timeout=30)
        assert finished.kind == EventKind.COMPLETED
        assert finished.job.metadata["output"] == "finished after its timeout"
        # The timeout's cancel was withdrawn: this task is not left cancelling.
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
