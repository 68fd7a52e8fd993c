"""The job scheduler (spec/11-maintenance.md#job-scheduler)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from riverboat._maintenance.job_scheduler import JobScheduler, JobSchedulerConfig
from riverboat._service import connect_each_time
from riverboat.errors import ValidationError
from tests import maintenance_support
from tests.helpers import await_until
from tests.maintenance_support import NotificationRelay, insert_job, job_row

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

KEY = hashlib.sha256(b"&kind=test_kind").digest()


def scheduler(url: str, **config: object) -> JobScheduler:
    return JobScheduler(connect=connect_each_time(url), config=JobSchedulerConfig(**config), stagger=False)  # type: ignore[arg-type]


async def test_due_scheduled_and_retryable_jobs_become_available(river_url, aconn):
    past = await insert_job(aconn, state="scheduled", scheduled_at="2020-01-01T00:00:00Z")
    retry = await insert_job(aconn, state="retryable", attempt=1, scheduled_at="2020-01-01T00:00:00Z")
    soon = await insert_job(aconn, state="scheduled", scheduled_at=_in(seconds=3))
    later = await insert_job(aconn, state="scheduled", scheduled_at=_in(hours=1))
    pending = await insert_job(aconn, state="pending", scheduled_at="2020-01-01T00:00:00Z")
    result = await scheduler(river_url).run_once()
    assert result.scheduled == 3
    assert result.discarded == 0
    assert (await job_row(aconn, past))["state"] == "available"
    assert (await job_row(aconn, retry))["state"] == "available"
    assert (await job_row(aconn, soon))["state"] == "available"
    assert (await job_row(aconn, later))["state"] == "scheduled"
    assert (await job_row(aconn, pending))["state"] == "pending"


def _in(**delta: float) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415

    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def test_insert_notification_only_for_queues_due_now(river_url, aconn):
    await insert_job(aconn, state="scheduled", queue="due_queue", scheduled_at="2020-01-01T00:00:00Z")
    await insert_job(aconn, state="scheduled", queue="soon_queue", scheduled_at=_in(seconds=3))
    async with NotificationRelay(river_url, "public.river_insert") as relay:
        result = await scheduler(river_url).run_once()
        assert result.notified_queues == ("due_queue",)
        await await_until(lambda: _has(relay, {"queue": "due_queue"}))
    assert {"queue": "soon_queue"} not in relay.received


async def _has(relay: NotificationRelay, payload: dict[str, object]) -> bool:
    return payload in relay.received


async def test_unique_conflict_with_live_job_is_discarded(river_url, aconn):
    live = await insert_job(aconn, state="available", unique_key=KEY, unique_states=245)
    # 213 = the default states without retryable, so the retryable row could coexist until now.
    blocked = await insert_job(
        aconn, state="retryable", unique_key=KEY, unique_states=213, scheduled_at="2020-01-01T00:00:00Z", attempt=1
    )
    result = await scheduler(river_url).run_once()
    assert (result.scheduled, result.discarded) == (0, 1)
    row = await job_row(aconn, blocked)
    assert row["state"] == "discarded"
    assert row["finalized_at"] is not None
    assert row["metadata"]["unique_key_conflict"] == "scheduler_discarded"
    assert (await job_row(aconn, live))["state"] == "available"


async def test_unique_siblings_in_one_batch_first_by_priority_wins(river_url, aconn):
    low = await insert_job(
        aconn, state="retryable", priority=2, unique_key=KEY, unique_states=213, scheduled_at="2020-01-01T00:00:00Z"
    )
    high = await insert_job(
        aconn, state="retryable", priority=1, unique_key=KEY, unique_states=213, scheduled_at="2020-01-02T00:00:00Z"
    )
    await scheduler(river_url).run_once()
    assert (await job_row(aconn, high))["state"] == "available"
    low_row = await job_row(aconn, low)
    assert low_row["state"] == "discarded"
    assert low_row["metadata"] == {"unique_key_conflict": "scheduler_discarded"}


async def test_a_discarded_live_row_does_not_block(river_url, aconn):
    await insert_job(aconn, state="discarded", unique_key=KEY, unique_states=245)
    job = await insert_job(
        aconn, state="scheduled", unique_key=KEY, unique_states=245, scheduled_at="2020-01-01T00:00:00Z"
    )
    await scheduler(river_url).run_once()
    assert (await job_row(aconn, job))["state"] == "available"


async def test_works_through_a_backlog_in_batches(river_url, aconn):
    ids = [await insert_job(aconn, state="scheduled", scheduled_at="2020-01-01T00:00:00Z") for _ in range(5)]
    result = await scheduler(river_url, batch_size=2).run_once()
    assert result.scheduled == 5
    assert {(await job_row(aconn, i))["state"] for i in ids} == {"available"}


async def test_the_loop_runs_until_stopped(river_url, aconn):
    service = scheduler(river_url, interval=timedelta(milliseconds=50))
    await service.start()
    assert service.running
    job = await insert_job(aconn, state="scheduled", scheduled_at="2020-01-01T00:00:00Z")
    await await_until(lambda: _state_is(aconn, job, "available"))
    await service.stop()
    assert not service.running
    await service.stop()


async def _state_is(conn, job_id: int, state: str) -> bool:
    return (await job_row(conn, job_id))["state"] == state


def test_defaults_and_validation():
    assert JobSchedulerConfig().interval == timedelta(seconds=5)
    assert JobSchedulerConfig().batch_size == 10_000
    with pytest.raises(ValidationError, match="interval"):
        JobSchedulerConfig(interval=timedelta(0))
    with pytest.raises(ValidationError, match="batch_size"):
        JobSchedulerConfig(batch_size=0)


async def test_a_failing_round_is_logged_and_the_loop_continues(caplog):
    calls = []

    class Flaky(JobScheduler):
        async def run_once(self):  # type: ignore[override]
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("database went away")
            return None

    service = Flaky(
        connect=connect_each_time("postgresql://invalid"),
        config=JobSchedulerConfig(interval=timedelta(milliseconds=10)),
        stagger=False,
    )
    await service.start()
    await await_until(lambda: _at_least(calls, 2))
    await service.stop()
    assert "database went away" in caplog.text


async def _at_least(calls: list[int], n: int) -> bool:
    return len(calls) >= n
