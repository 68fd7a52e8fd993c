"""Producers poll their running jobs' cancel requests and their queue's paused state
(spec/06-fetch.md#cancel-polling): every 2 s without a listener, once a minute with one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat import _fetch
from riverboat._execute import CANCELLED_REMOTELY
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, running_runtime, states


class Blocks(Worker[dict[str, Any]]):
    kind = "blocks"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        await asyncio.Event().wait()  # until cancelled


ONE_SLOT = {"default": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))}


def request_cancel_silently(conn: psycopg.Connection[Any], job_id: int) -> None:
    """What a cancel does to a running row, without the notification (lost, or never heard)."""
    conn.execute(
        "UPDATE river_job SET metadata = jsonb_set(metadata, '{cancel_attempted_at}', to_jsonb(now()::text))"
        " WHERE id = %s",
        (job_id,),
    )


async def wait_running(conn: psycopg.Connection[Any], job_id: int) -> None:
    async def running() -> bool:
        return states(conn, [job_id]) == ["running"]

    await await_until(running, what="the job is running")


async def wait_cancelled(conn: psycopg.Connection[Any], job_id: int) -> None:
    async def cancelled() -> bool:
        return states(conn, [job_id]) == ["cancelled"]

    await await_until(cancelled, timeout=30, what="the cancel is heard by polling")
    assert job_row(conn, job_id)["errors"][0]["error"] == f"JobCancelError: {CANCELLED_REMOTELY}"


async def test_poll_only_hears_a_cancel_while_saturated_and_paused(conn: psycopg.Connection[Any], db_url: str) -> None:
    [job_id] = insert_jobs(conn, "blocks", [{}])
    waiting = insert_jobs(conn, "blocks", [{}])
    async with running_runtime(db_url, Workers(Blocks()), queues=ONE_SLOT, poll_only=True) as runtime:
        await wait_running(conn, job_id)
        conn.execute("UPDATE river_queue SET paused_at = now() WHERE name = 'default'")

        async def paused() -> bool:
            return runtime.producers["default"].paused

        await await_until(paused, what="the pause is heard by polling")
        request_cancel_silently(conn, job_id)
        await wait_cancelled(conn, job_id)
        assert states(conn, waiting) == ["available"]


async def test_poll_only_hears_a_cancel_while_draining_at_stop(conn: psycopg.Connection[Any], db_url: str) -> None:
    [job_id] = insert_jobs(conn, "blocks", [{}])
    async with running_runtime(db_url, Workers(Blocks()), poll_only=True) as runtime:
        await wait_running(conn, job_id)
        producer = runtime.producers["default"]
        stopping = asyncio.create_task(runtime.stop())
        await await_until(lambda: _true(not producer.running), what="the producer stopped; its job drains")
        assert not stopping.done()
        request_cancel_silently(conn, job_id)
        await wait_cancelled(conn, job_id)
        await asyncio.wait_for(stopping, timeout=30)


async def _true(value: bool) -> bool:
    return value


async def test_with_a_listener_a_lost_cancel_is_heard_by_the_fallback_poll(
    conn: psycopg.Connection[Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fetch, "NOTIFICATION_POLL_INTERVAL", 0.2)
    [job_id] = insert_jobs(conn, "blocks", [{}])
    async with running_runtime(db_url, Workers(Blocks())) as runtime:
        assert runtime.producers["default"]._poll_interval == 0.2
        await wait_running(conn, job_id)
        request_cancel_silently(conn, job_id)
        await wait_cancelled(conn, job_id)


def test_poll_intervals_are_rivers() -> None:
    assert (_fetch.QUEUE_POLL_INTERVAL, _fetch.NOTIFICATION_POLL_INTERVAL) == (2.0, 60.0)
