from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg

from riverboat.events import Event, EventKind
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob, record_output, snooze
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, running_runtime, states


class Noop(Worker[dict[str, Any]]):
    kind = "noop"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        record_output({"seen": job.args})


class SyncBoom(Worker[dict[str, Any]]):
    kind = "sync_boom"

    def work(self, job: WorkJob[dict[str, Any]]) -> None:
        raise ValueError("boom")


class Snoozer(Worker[dict[str, Any]]):
    kind = "snoozer"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        snooze(timedelta(minutes=10))


async def test_jobs_complete_fail_and_snooze(conn: psycopg.Connection[Any], db_url: str) -> None:
    ok = insert_jobs(conn, "noop", [{"n": i} for i in range(20)])
    bad = insert_jobs(conn, "sync_boom", [{}])
    snoozed = insert_jobs(conn, "snoozer", [{}])
    unknown = insert_jobs(conn, "nobody", [{}])
    events: list[Event] = []
    async with running_runtime(db_url, Workers(Noop(), SyncBoom(), Snoozer())) as runtime:
        runtime.events.subscribe(events.append)

        async def done() -> bool:
            # A first failure retries within 5 s, so those jobs may be running again.
            return (
                states(conn, ok) == ["completed"] * 20
                and states(conn, snoozed) == ["scheduled"]
                and all(job_row(conn, i)["errors"] for i in bad + unknown)
            )

        await await_until(done, what="outcomes stored")
    row = job_row(conn, ok[0])
    assert row["metadata"]["output"] == {"seen": {"n": 0}}
    assert row["finalized_at"] is not None
    failed = job_row(conn, bad[0])
    assert set(failed["errors"][0]) == {"at", "attempt", "error", "trace"}
    assert failed["errors"][0]["error"] == "ValueError: boom"
    assert failed["errors"][0]["attempt"] == 1
    assert failed["attempted_by"] == [runtime.client_id] * failed["attempt"]
    sn = job_row(conn, snoozed[0])
    assert sn["attempt"] == 0
    assert sn["metadata"]["snoozes"] == 1
    assert sn["errors"] is None
    un = job_row(conn, unknown[0])
    assert un["errors"][0]["error"] == "job kind is not registered in the client's Workers bundle: nobody"
    kinds = {e.kind for e in events}
    assert {EventKind.COMPLETED, EventKind.FAILED, EventKind.SNOOZED} <= kinds


async def test_notification_starts_job_without_poll(conn: psycopg.Connection[Any], db_url: str) -> None:
    """Polls an hour apart: once the producer's first fetch is over, only the insert notification can start a job."""
    queues = {"default": QueueConfig(max_workers=5, fetch_poll_interval=timedelta(hours=1))}
    first = insert_jobs(conn, "noop", [{"first": True}])
    async with running_runtime(db_url, Workers(Noop()), queues=queues):

        async def first_fetch_over() -> bool:
            return states(conn, first) == ["completed"]

        await await_until(first_fetch_over, what="the job of the producer's first fetch completed")
        ids = insert_jobs(conn, "noop", [{}], notify=True)

        async def done() -> bool:
            return states(conn, ids) == ["completed"]

        await await_until(done, timeout=5, what="job started by notification")


async def test_listener_killed_jobs_still_flow(conn: psycopg.Connection[Any], db_url: str) -> None:
    queues = {"default": QueueConfig(max_workers=5, fetch_poll_interval=timedelta(hours=1))}
    async with running_runtime(db_url, Workers(Noop()), queues=queues) as runtime:
        old_pid = runtime.listener.backend_pid
        conn.execute("SELECT pg_terminate_backend(%s)", (old_pid,))

        async def reconnected() -> bool:
            return runtime.listener.connected and runtime.listener.backend_pid != old_pid

        await await_until(reconnected, what="listener reconnected")
        ids = insert_jobs(conn, "noop", [{}], notify=True)

        async def done() -> bool:
            return states(conn, ids) == ["completed"]

        await await_until(done, what="job after reconnect")


async def test_poll_only_and_pause(conn: psycopg.Connection[Any], db_url: str) -> None:
    conn.execute("INSERT INTO river_queue (name, paused_at) VALUES ('default', now())")
    ids = insert_jobs(conn, "noop", [{}])
    async with running_runtime(db_url, Workers(Noop()), poll_only=True) as runtime:
        assert runtime.producers["default"].paused
        conn.execute("UPDATE river_queue SET paused_at = NULL")

        async def done() -> bool:
            return states(conn, ids) == ["completed"]

        await await_until(done, what="job after resume (learned by polling river_queue)")


class Recorder(Worker[dict[str, Any]]):
    kind = "recorded"

    def __init__(self, runs: list[int]) -> None:
        self.runs = runs

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        self.runs.append(job.id)


async def test_two_runtimes_never_run_a_job_twice(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "recorded", [{}] * 10_000)
    runs: list[int] = []
    queues = {"default": QueueConfig(max_workers=200, fetch_cooldown=timedelta(milliseconds=10))}
    async with (
        running_runtime(db_url, Workers(Recorder(runs)), queues=queues, client_id="one"),
        running_runtime(db_url, Workers(Recorder(runs)), queues=queues, client_id="two"),
    ):

        async def done() -> bool:
            return conn.execute("SELECT count(*) FROM river_job WHERE state = 'completed'").fetchone()[0] == 10_000

        await await_until(done, timeout=120, interval=0.2, what="10,000 jobs worked")
    assert sorted(runs) == ids
    by = conn.execute("SELECT count(DISTINCT attempted_by[1]) FROM river_job").fetchone()[0]
    assert by == 2


async def test_soft_stop_waits_and_leaves_nothing_running(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "slowish", [{}] * 3)
    release = asyncio.Event()

    class Slowish(Worker[Any]):
        kind = "slowish"

        async def work(self, job: WorkJob[Any]) -> None:
            await release.wait()

    async with running_runtime(db_url, Workers(Slowish())) as runtime:

        async def all_running() -> bool:
            return runtime.running_count == 3

        await await_until(all_running, what="all three jobs running")
        stopping = asyncio.create_task(runtime.stop())
        # The jobs finish only once released, and the soft stop waits for them.
        done, _ = await asyncio.wait({stopping}, timeout=0.2)
        assert not done
        release.set()
        await stopping
        assert states(conn, ids) == ["completed"] * 3


async def test_soft_stop_timeout_escalates(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "forever", [{}])
    started = asyncio.Event()

    class Forever(Worker[Any]):
        kind = "forever"

        async def work(self, job: WorkJob[Any]) -> None:
            started.set()
            await asyncio.Event().wait()  # until cancelled

    async with running_runtime(db_url, Workers(Forever()), soft_stop_timeout=timedelta(milliseconds=100)) as runtime:
        await started.wait()
        await runtime.stop()
        row = job_row(conn, ids[0])
        assert (row["state"], row["attempt"], row["errors"], row["finalized_at"]) == ("available", 0, None, None)
