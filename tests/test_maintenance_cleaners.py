"""The job cleaner and queue cleaner (spec/11-maintenance.md#job-cleaner, #queue-cleaner)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from riverboat import KEEP_FOREVER
from riverboat._maintenance.job_cleaner import JobCleaner, JobCleanerConfig
from riverboat._maintenance.queue_cleaner import QueueCleaner, QueueCleanerConfig
from riverboat._service import connect_each_time
from riverboat.errors import ValidationError
from tests import maintenance_support
from tests.maintenance_support import insert_job, insert_queue

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url


async def ids(conn) -> set[int]:
    cur = await conn.execute("SELECT id FROM river_job")
    return {row[0] for row in await cur.fetchall()}


async def finalized(conn, state: str, ago: str) -> int:
    job = await insert_job(conn, state=state)
    await conn.execute("UPDATE river_job SET finalized_at = now() - %s::interval WHERE id = %s", [ago, job])
    return job


async def test_finalized_jobs_past_retention_are_deleted(river_url, aconn):
    old_completed = await finalized(aconn, "completed", "25 hours")
    new_completed = await finalized(aconn, "completed", "23 hours")
    old_cancelled = await finalized(aconn, "cancelled", "25 hours")
    new_cancelled = await finalized(aconn, "cancelled", "23 hours")
    old_discarded = await finalized(aconn, "discarded", "8 days")
    new_discarded = await finalized(aconn, "discarded", "6 days")
    available = await insert_job(aconn, state="available", scheduled_at="2020-01-01T00:00:00Z")
    cleaner = JobCleaner(connect=connect_each_time(river_url), stagger=False)
    result = await cleaner.run_once()
    assert result.deleted == 3
    remaining = await ids(aconn)
    assert {old_completed, old_cancelled, old_discarded}.isdisjoint(remaining)
    assert {new_completed, new_cancelled, new_discarded, available} <= remaining


async def test_retention_is_configurable_and_minus_one_keeps_forever(river_url, aconn):
    completed = await finalized(aconn, "completed", "2 hours")
    discarded = await finalized(aconn, "discarded", "1000 days")
    config = JobCleanerConfig(completed_job_retention=timedelta(hours=1), discarded_job_retention=KEEP_FOREVER)
    await JobCleaner(connect=connect_each_time(river_url), config=config, stagger=False).run_once()
    remaining = await ids(aconn)
    assert completed not in remaining
    assert discarded in remaining


async def test_cleaner_works_in_batches(river_url, aconn):
    for _ in range(5):
        await finalized(aconn, "completed", "2 days")
    config = JobCleanerConfig(batch_size=2)
    result = await JobCleaner(connect=connect_each_time(river_url), config=config, stagger=False).run_once()
    assert result.deleted == 5
    assert await ids(aconn) == set()


def test_job_cleaner_defaults_and_validation():
    config = JobCleanerConfig()
    assert config.interval == timedelta(seconds=30)
    assert config.completed_job_retention == timedelta(hours=24)
    assert config.cancelled_job_retention == timedelta(hours=24)
    assert config.discarded_job_retention == timedelta(days=7)
    with pytest.raises(ValidationError, match="completed_job_retention"):
        JobCleanerConfig(completed_job_retention=-2)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="discarded_job_retention"):
        JobCleanerConfig(discarded_job_retention=timedelta(seconds=-1))


async def test_queues_not_updated_for_a_day_are_deleted(river_url, aconn):
    await insert_queue(aconn, "stale", updated_ago="25 hours")
    await insert_queue(aconn, "fresh", updated_ago="23 hours")
    result = await QueueCleaner(connect=connect_each_time(river_url), stagger=False).run_once()
    assert result.deleted == ("stale",)
    cur = await aconn.execute("SELECT name FROM river_queue")
    assert [row[0] for row in await cur.fetchall()] == ["fresh"]


async def test_queue_cleaner_batches(river_url, aconn):
    for name in ["a", "b", "c"]:
        await insert_queue(aconn, name, updated_ago="2 days")
    config = QueueCleanerConfig(batch_size=2)
    result = await QueueCleaner(connect=connect_each_time(river_url), config=config, stagger=False).run_once()
    assert result.deleted == ("a", "b", "c")


def test_queue_cleaner_defaults():
    config = QueueCleanerConfig()
    assert config.interval == timedelta(hours=1)
    assert config.retention == timedelta(hours=24)
    with pytest.raises(ValidationError, match="retention"):
        QueueCleanerConfig(retention=timedelta(0))
