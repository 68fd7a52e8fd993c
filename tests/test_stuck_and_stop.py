"""Stuck jobs (spec/07-complete.md#stuck-jobs) and stopping jobs that run in threads
(spec/07-complete.md#stopping): a row never leaves ``running`` while its code runs."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat import (
    AsyncClient,
    JobStuckInfo,
    JobStuckResult,
    QueueConfig,
    RawArgs,
    Worker,
    Workers,
    WorkJob,
    cancellation_requested,
)
from tests.helpers import await_until, wait_until
from tests.worker_support import states

ONE_AT_A_TIME = {
    "default": QueueConfig(
        max_workers=1, fetch_cooldown=timedelta(milliseconds=20), fetch_poll_interval=timedelta(milliseconds=50)
    )
}

release = threading.Event()
entered = threading.Event()
returned = threading.Event()


class Ignores(Worker[Any]):
    """A def worker that ignores its timeout and any cancel until released."""

    kind = "ignores"
    timeout = timedelta(milliseconds=200)

    def work(self, job: WorkJob[Any]) -> None:
        entered.set()
        try:
            release.wait(60)
        finally:
            returned.set()


class Quick(Worker[Any]):
    kind = "quick"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


async def _state(conn: psycopg.Connection[Any], job_id: int, state: str) -> None:
    async def reached() -> bool:
        return states(conn, [job_id]) == [state]

    await await_until(reached, what=f"job {job_id} to be {state}")


@pytest.fixture(autouse=True)
def _reset() -> Any:
    release.clear()
    entered.clear()
    returned.clear()
    yield
    release.set()


async def test_a_stuck_job_is_logged_and_the_handler_may_free_its_slot(
    db_url: str, conn: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[JobStuckInfo] = []

    def handler(info: JobStuckInfo) -> JobStuckResult:
        seen.append(info)
        return JobStuckResult(add_worker_slot=True)

    client = AsyncClient(
        db_url,
        queues=ONE_AT_A_TIME,
        workers=Workers(Ignores(), Quick()),
        leader_election=False,
        job_stuck_threshold=timedelta(milliseconds=200),
        job_stuck_handler=handler,
    )
    caplog.set_level(logging.INFO, logger="riverboat")
    stuck = (await client.insert(RawArgs("ignores", {}))).job
    await client.start()
    try:
        await _state(conn, stuck.id, "running")
        quick = (await client.insert(RawArgs("quick", {}))).job
        # One worker slot: the quick job runs only because the stuck one gave its slot back.
        await _state(conn, quick.id, "completed")
        assert states(conn, [stuck.id]) == ["running"]
        assert seen == [JobStuckInfo(id=stuck.id, kind="ignores", queue="default", total_stuck_jobs=1)]
        release.set()
        await _state(conn, stuck.id, "completed")

        async def unstuck_logged() -> bool:
            return any("stuck job finished" in r.getMessage() for r in caplog.records)

        await await_until(unstuck_logged, what="the stuck job's end to be logged")
    finally:
        await client.close()
    warnings = [r for r in caplog.records if "job appears stuck" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].job_id == stuck.id  # type: ignore[attr-defined]


async def test_without_a_handler_a_stuck_job_keeps_its_slot(db_url: str, conn: psycopg.Connection[Any]) -> None:
    client = AsyncClient(
        db_url,
        queues=ONE_AT_A_TIME,
        workers=Workers(Ignores(), Quick()),
        leader_election=False,
        job_stuck_threshold=timedelta(0),
    )
    stuck = (await client.insert(RawArgs("ignores", {}))).job
    await client.start()
    try:
        await _state(conn, stuck.id, "running")
        quick = (await client.insert(RawArgs("quick", {}))).job
        await _state(conn, stuck.id, "running")
        assert states(conn, [quick.id]) == ["available"]
        release.set()
        await _state(conn, quick.id, "completed")
    finally:
        await client.close()


async def test_a_hard_stop_leaves_a_thread_that_wont_return_running_never_available(
    db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("riverboat._runtime.THREAD_STOP_WAIT", 0.3)
    client = AsyncClient(db_url, queues=ONE_AT_A_TIME, workers=Workers(Ignores()), leader_election=False)
    job = (await client.insert(RawArgs("ignores", {}))).job
    await client.start()
    await _state(conn, job.id, "running")
    await client.stop_and_cancel()
    assert states(conn, [job.id]) == ["running"]
    release.set()
    wait_until(returned.is_set, what="the abandoned thread to return")
    assert states(conn, [job.id]) == ["running"]
    await client.close()


class Cooperates(Worker[Any]):
    kind = "cooperates"

    def work(self, job: WorkJob[Any]) -> None:
        entered.set()
        while not cancellation_requested():
            release.wait(0.01)
        raise RuntimeError("stopped on request")


async def test_a_hard_stop_finalizes_a_thread_job_only_after_it_returns(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    client = AsyncClient(db_url, queues=ONE_AT_A_TIME, workers=Workers(Cooperates()), leader_election=False)
    job = (await client.insert(RawArgs("cooperates", {}))).job
    await client.start()
    await _state(conn, job.id, "running")
    await client.stop_and_cancel()
    # Interrupted by the stop: available again with the attempt given back, once its thread ended.
    row = conn.execute("SELECT state::text, attempt FROM river_job WHERE id = %s", (job.id,)).fetchone()
    assert row == ("available", 0)
    await client.close()
