from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from riverboat import DatabaseTimeouts, Hook, JobGetAvailableMetric, QueueConfig, Worker, Workers, WorkJob
from riverboat._fetch import FETCH_LIMIT_MAX
from riverboat._queries import query
from riverboat._runtime import Runtime
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, running_runtime, states


def fetch(conn: psycopg.Connection[Any], limit: int, client_id: str = "me") -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            query("job_get_available", None), {"queue": "default", "max_to_lock": limit, "client_id": client_id}
        )
        return cur.fetchall()


def test_fetch_order_limit_and_fields(conn: psycopg.Connection[Any]) -> None:
    low = insert_jobs(conn, "k", [{}])
    high = insert_jobs(conn, "k", [{}, {}])
    other_queue = insert_jobs(conn, "k", [{}], queue="other")
    future = insert_jobs(conn, "k", [{}])
    conn.execute("UPDATE river_job SET priority = 3 WHERE id = %s", (low[0],))
    conn.execute("UPDATE river_job SET scheduled_at = now() + interval '1 hour' WHERE id = %s", (future[0],))
    rows = fetch(conn, 2)
    assert [r["id"] for r in rows] == high
    assert all(r["state"] == "running" and r["attempt"] == 1 and r["attempted_by"] == ["me"] for r in rows)
    assert all(r["attempted_at"] is not None for r in rows)
    assert [r["id"] for r in fetch(conn, 10)] == low
    assert fetch(conn, 10) == []
    assert states(conn, other_queue + future) == ["available", "available"]


def test_attempted_by_keeps_last_100(conn: psycopg.Connection[Any]) -> None:
    ids = insert_jobs(conn, "k", [{}, {}])
    conn.execute(
        "UPDATE river_job SET attempted_by = ARRAY(SELECT 'c' || g FROM generate_series(1, 150) g) WHERE id = %s",
        (ids[0],),
    )
    conn.execute("UPDATE river_job SET attempted_by = ARRAY['a', 'b'] WHERE id = %s", (ids[1],))
    rows = {r["id"]: r for r in fetch(conn, 2, "new")}
    assert rows[ids[0]]["attempted_by"] == [f"c{i}" for i in range(52, 151)] + ["new"]
    assert rows[ids[1]]["attempted_by"] == ["a", "b", "new"]


def test_skip_locked_splits_between_fetchers(conn: psycopg.Connection[Any], db_url: str) -> None:
    insert_jobs(conn, "k", [{}] * 4)
    with psycopg.connect(db_url) as other:
        first = fetch(other, 2, "other")
        second = fetch(conn, 10)
        other.commit()
    assert len(first) == 2
    assert len(second) == 2
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in second)


class Done(Worker[Any]):
    kind = "done"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


@asynccontextmanager
async def first_fetch_given_up(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[psycopg.Connection[Any], Runtime]]:
    """A runtime whose first fetch ran into a lock on river_job and was given up at its
    deadline; the connection holding the lock comes with it (roll it back to release it).
    Its next poll is an hour away: only a prompt retry fetches anything in time."""
    hourly = {"default": QueueConfig(fetch_poll_interval=timedelta(hours=1))}
    with psycopg.connect(db_url) as locker:
        locker.execute("LOCK TABLE river_job IN ACCESS EXCLUSIVE MODE")
        async with running_runtime(
            db_url,
            Workers(Done()),
            queues=hourly,
            poll_only=True,
            database_timeouts=DatabaseTimeouts(work=timedelta(milliseconds=300)),
        ) as runtime:

            async def failed() -> bool:
                return any("default: fetch failed: DatabaseTimeoutError" in r.getMessage() for r in caplog.records)

            await await_until(failed, what="a fetch given up at its deadline")
            yield locker, runtime


async def test_a_failed_fetch_is_retried_before_the_next_poll(
    conn: psycopg.Connection[Any], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = insert_jobs(conn, "done", [{}])
    async with first_fetch_given_up(db_url, caplog) as (locker, _):
        locker.rollback()

        async def completed() -> bool:
            return states(conn, ids) == ["completed"]

        await await_until(completed, timeout=30, what="the job fetched again and completed")


async def test_jobs_locked_by_a_fetch_whose_answer_was_lost_are_taken_back(
    conn: psycopg.Connection[Any], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    (orphan,) = insert_jobs(conn, "done", [{}])
    async with first_fetch_given_up(db_url, caplog) as (locker, runtime):
        # What that fetch did on the server although its answer never came back.
        locker.execute(
            "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),"
            " attempted_by = ARRAY[%s] WHERE id = %s",
            (runtime.client_id, orphan),
        )
        locker.commit()

        async def completed() -> bool:
            return states(conn, [orphan]) == ["completed"]

        await await_until(completed, timeout=30, what="the orphaned job taken back and worked")
    assert job_row(conn, orphan)["attempt"] == 1


class FetchSizes(Hook):
    def __init__(self) -> None:
        self.counts: list[int] = []

    def metric_emit(self, metric: JobGetAvailableMetric) -> None:
        self.counts.append(metric.count)


class HeldUntilAllStarted(Worker[Any]):
    """Holds every job until ``expected`` are running at once: no slot frees before that."""

    kind = "held"

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.started = 0
        self.released = asyncio.Event()

    async def work(self, job: WorkJob[Any]) -> None:
        self.started += 1
        if self.started == self.expected:
            self.released.set()
        await self.released.wait()


async def test_a_fetch_locks_at_most_the_limit_and_a_full_one_is_followed_at_once(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    jobs = FETCH_LIMIT_MAX * 2 + 7
    ids = insert_jobs(conn, "held", [{}] * jobs)
    sizes = FetchSizes()
    worker = HeldUntilAllStarted(jobs)
    # Polls are an hour apart and no job ends before all have started: only fetches that
    # follow a full one at once, while slots are free, get them all running.
    wide = {"default": QueueConfig(max_workers=FETCH_LIMIT_MAX * 3, fetch_poll_interval=timedelta(hours=1))}
    async with running_runtime(db_url, Workers(worker), queues=wide, hooks=[sizes], poll_only=True):

        async def all_completed() -> bool:
            return set(states(conn, ids)) == {"completed"}

        await await_until(all_completed, timeout=30, what="every job running at once, then completed")
    assert max(sizes.counts) == FETCH_LIMIT_MAX
    assert sum(sizes.counts) == jobs
