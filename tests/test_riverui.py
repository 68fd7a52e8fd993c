"""River UI v0.22.0 (``riverqueue.com/riverui/cmd/riverui``, built from the Go module proxy)
runs unchanged on a database riverboat migrated and works: through its JSON API it lists
riverboat's jobs (with their errors) and queues, and its cancel, retry, delete and pause
reach a running riverboat worker."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
import pytest

from riverboat import AsyncClient, InsertOpts, QueueConfig, Worker, Workers, WorkJob
from tests.helpers import await_until, go_binary, wait_until

pytestmark = pytest.mark.go

RIVERUI = "riverqueue.com/riverui/cmd/riverui"


@dataclass
class Sleep:
    kind: ClassVar[str] = "ui_sleep"


@dataclass
class Flaky:
    kind: ClassVar[str] = "ui_flaky"


@dataclass
class Quick:
    kind: ClassVar[str] = "ui_quick"


class SleepWorker(Worker[Sleep]):
    kind = "ui_sleep"
    args_type = Sleep

    async def work(self, job: WorkJob[Sleep]) -> None:
        await asyncio.Event().wait()


class FlakyWorker(Worker[Flaky]):
    """Fails its first attempt, so River UI has an error to show and a job to retry."""

    kind = "ui_flaky"
    args_type = Flaky

    async def work(self, job: WorkJob[Flaky]) -> None:
        if job.attempt == 1:
            raise RuntimeError("the printer is on fire")


class QuickWorker(Worker[Quick]):
    kind = "ui_quick"
    args_type = Quick

    async def work(self, job: WorkJob[Quick]) -> None:
        return None


class RiverUI:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def healthy(self) -> bool:
        try:
            return bool(self.call("GET", "/api/health-checks/complete") == {"status": "ok"})
        except (urllib.error.URLError, ConnectionError):
            return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def riverui(db_url: str) -> Iterator[RiverUI]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "RIVER_HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen(
        [str(go_binary("riverui", RIVERUI))], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ui = RiverUI(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: proc.poll() is not None or ui.healthy(), timeout=60, what="River UI to serve")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield ui
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
async def worker(db_url: str) -> AsyncIterator[AsyncClient]:
    queues = {"default": QueueConfig(max_workers=5), "ui_paused": QueueConfig(max_workers=5)}
    workers = Workers(SleepWorker(), FlakyWorker(), QuickWorker())
    async with AsyncClient(db_url, queues=queues, workers=workers, max_attempts=1) as client:
        await client.start()
        yield client
        await client.stop_and_cancel()


def _state(conn: psycopg.Connection[Any], job_id: int) -> str:
    row = conn.execute("SELECT state FROM river_job WHERE id = %s", [job_id]).fetchone()
    return "deleted" if row is None else str(row[0])


async def test_riverui_lists_and_operates_riverboat_jobs_and_queues(
    riverui: RiverUI, worker: AsyncClient, conn: psycopg.Connection[Any]
) -> None:
    async def state_is(job_id: int, state: str) -> bool:
        return _state(conn, job_id) == state

    flaky = (await worker.insert(Flaky())).job.id
    sleeping = (await worker.insert(Sleep())).job.id
    await await_until(lambda: state_is(flaky, "discarded"), what="flaky job discarded after one attempt")
    await await_until(lambda: state_is(sleeping, "running"), what="sleeping job running")

    # Lists and details, errors included.
    discarded = await asyncio.to_thread(riverui.call, "GET", "/api/jobs?state=discarded")
    assert [(job["id"], job["kind"]) for job in discarded["data"]] == [(flaky, "ui_flaky")]
    running = await asyncio.to_thread(riverui.call, "GET", "/api/jobs?state=running")
    assert [job["id"] for job in running["data"]] == [sleeping]
    details = await asyncio.to_thread(riverui.call, "GET", f"/api/jobs/{flaky}")
    assert details["state"] == "discarded"
    assert details["attempt"] == 1
    assert [error["attempt"] for error in details["errors"]] == [1]
    assert "the printer is on fire" in details["errors"][0]["error"]
    queues = await asyncio.to_thread(riverui.call, "GET", "/api/queues")
    assert {queue["name"] for queue in queues["data"]} == {"default", "ui_paused"}

    # Cancel a running job: riverboat's worker stops it and records it cancelled.
    await asyncio.to_thread(riverui.call, "POST", "/api/jobs/cancel", {"ids": [str(sleeping)]})
    await await_until(lambda: state_is(sleeping, "cancelled"), what="running job cancelled from River UI")

    # Retry the discarded job: riverboat works it again, and this time it completes.
    await asyncio.to_thread(riverui.call, "POST", "/api/jobs/retry", {"ids": [str(flaky)]})
    await await_until(lambda: state_is(flaky, "completed"), what="retried job completed")

    # Delete a finished job.
    await asyncio.to_thread(riverui.call, "POST", "/api/jobs/delete", {"ids": [str(flaky)]})
    assert _state(conn, flaky) == "deleted"

    # Pause a queue: riverboat stops fetching from it while it still works the others.
    await asyncio.to_thread(riverui.call, "PUT", "/api/queues/ui_paused/pause")
    paused = await asyncio.to_thread(riverui.call, "GET", "/api/queues/ui_paused")
    assert paused["paused_at"] is not None
    held = (await worker.insert(Quick(), InsertOpts(queue="ui_paused"))).job.id
    beside = (await worker.insert(Quick())).job.id
    await await_until(lambda: state_is(beside, "completed"), what="job in the unpaused queue completed")
    assert _state(conn, held) == "available"
    await asyncio.to_thread(riverui.call, "PUT", "/api/queues/ui_paused/resume")
    await await_until(lambda: state_is(held, "completed"), what="job completed once its queue resumed")
