"""The one lifecycle of long-running parts: a failed start leaves nothing running, and no
exception in a background task is lost (issue 19)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import ClassVar

import psycopg
import pytest

from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob
from riverboat._service import Service, TaskSet, start_all
from tests.helpers import await_until


class Part:
    def __init__(self, name: str, log: list[str], *, fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


@pytest.mark.parametrize("failing", [0, 1, 2])
async def test_a_failed_start_stops_what_already_started(failing: int) -> None:
    log: list[str] = []
    parts = [Part(name, log, fail=i == failing) for i, name in enumerate("abc")]
    with pytest.raises(RuntimeError, match=f"{'abc'[failing]} cannot start"):
        await start_all(parts)
    started = [f"start {n}" for n in "abc"[:failing]]
    assert log == started + [f"stop {n}" for n in reversed("abc"[:failing])]


@dataclass
class Noop:
    kind: ClassVar[str] = "noop"


class NoopWorker(Worker[Noop]):
    kind = "noop"

    async def work(self, job: WorkJob[Noop]) -> None:
        return None


def _riverboat_tasks() -> list[str]:
    return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("riverboat"))


async def test_a_client_whose_producer_cannot_register_leaves_nothing_running(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE river_queue")
    client = AsyncClient(db_url, queues={"default": QueueConfig()}, workers=Workers(NoopWorker()))
    with pytest.raises(psycopg.errors.UndefinedTable):
        await client.start()
    assert _riverboat_tasks() == []
    await client.close()


class Flaky(Service):
    name = "riverboat-test-flaky"

    def __init__(self) -> None:
        self.runs = 0

    async def _run(self) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("first run breaks")
        await asyncio.Event().wait()


async def test_a_service_whose_loop_fails_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("riverboat._service.RESTART_BACKOFF_START", 0.01)
    service = Flaky()
    with caplog.at_level(logging.ERROR, logger="riverboat"):
        await service.start()

        async def restarted() -> bool:
            return service.runs == 2

        await await_until(restarted, what="the loop to run again")
        await service.stop()
    failures = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert not service.running


async def test_a_background_task_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet("riverboat-test")

    async def boom() -> None:
        raise ValueError("lost?")

    async def logged() -> bool:
        return any("boom failed" in r.getMessage() and r.exc_info for r in caplog.records)

    with caplog.at_level(logging.ERROR, logger="riverboat"):
        tasks.spawn(boom(), "boom")
        await await_until(logged, what="the failure to be logged")
