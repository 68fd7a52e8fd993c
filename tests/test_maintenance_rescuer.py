"""The job rescuer (spec/11-maintenance.md#job-rescuer)."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from riverboat._maintenance.job_rescuer import (
    RESCUE_ERROR,
    JobRescuer,
    JobRescuerConfig,
    decide_rescue,
)
from riverboat._maintenance.job_scheduler import JobScheduler
from riverboat._maintenance.queue_maintainer import QueueMaintainer
from riverboat._service import connect_each_time
from riverboat._settings import work_settings
from riverboat._working import Working
from riverboat.errors import ValidationError
from riverboat.job import Job
from riverboat.worker import NO_TIMEOUT, QueueConfig, Worker, Workers, WorkJob
from tests import maintenance_support
from tests.helpers import await_until
from tests.maintenance_support import GoClient, insert_job, job_row
from tests.worker_support import WORK_DEFAULTS

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

RETRY_AT = datetime(2030, 1, 1, tzinfo=UTC)
LONG_AGO = "2020-01-01T00:00:00Z"


def rescuer(url: str, next_retry=lambda job: RETRY_AT, is_known_kind=None, timeout_of=None, **config) -> JobRescuer:
    return JobRescuer(
        connect=connect_each_time(url),
        next_retry=next_retry,
        is_known_kind=is_known_kind,
        timeout_of=timeout_of,
        config=JobRescuerConfig(**config),
        stagger=False,
    )


async def test_stuck_job_with_attempts_left_is_retried(river_url, aconn):
    job = await insert_job(aconn, state="running", attempt=2, attempted_at=LONG_AGO)
    result = await rescuer(river_url).run_once()
    assert (result.retried, result.discarded, result.cancelled) == (1, 0, 0)
    row = await job_row(aconn, job)
    assert row["state"] == "retryable"
    assert row["scheduled_at"] == RETRY_AT
    assert row["finalized_at"] is None
    assert row["metadata"]["river:rescue_count"] == 1
    (error,) = row["errors"]
    assert error["error"] == RESCUE_ERROR
    assert error["attempt"] == 2
    assert error["trace"] == ""
    assert datetime.fromisoformat(error["at"]).tzinfo is not None
    assert error["at"].endswith("Z")


async def test_rescue_count_increments_and_non_numbers_count_as_zero(river_url, aconn):
    counted = await insert_job(
        aconn, state="running", attempt=1, attempted_at=LONG_AGO, metadata={"river:rescue_count": 2}
    )
    garbage = await insert_job(
        aconn, state="running", attempt=1, attempted_at=LONG_AGO, metadata={"river:rescue_count": "many"}
    )
    await rescuer(river_url).run_once()
    assert (await job_row(aconn, counted))["metadata"]["river:rescue_count"] == 3
    assert (await job_row(aconn, garbage))["metadata"]["river:rescue_count"] == 1


async def test_stuck_job_without_attempts_left_is_discarded(river_url, aconn):
    job = await insert_job(aconn, state="running", attempt=3, max_attempts=3, attempted_at=LONG_AGO)
    result = await rescuer(river_url).run_once()
    assert result.discarded == 1
    row = await job_row(aconn, job)
    assert row["state"] == "discarded"
    assert row["finalized_at"] is not None


async def test_stuck_job_with_cancel_attempted_is_cancelled(river_url, aconn):
    job = await insert_job(
        aconn,
        state="running",
        attempt=1,
        attempted_at=LONG_AGO,
        metadata={"cancel_attempted_at": "2020-01-01T00:00:00Z"},
    )
    result = await rescuer(river_url).run_once()
    assert result.cancelled == 1
    row = await job_row(aconn, job)
    assert row["state"] == "cancelled"
    assert row["finalized_at"] is not None


async def test_unknown_kind_is_discarded_like_river_go(river_url, aconn):
    mine = await insert_job(aconn, state="running", kind="python_kind", attempt=1, attempted_at=LONG_AGO)
    foreign = await insert_job(aconn, state="running", kind="go_kind", attempt=1, attempted_at=LONG_AGO)
    await rescuer(river_url, is_known_kind=lambda kind: kind == "python_kind").run_once()
    assert (await job_row(aconn, mine))["state"] == "retryable"
    assert (await job_row(aconn, foreign))["state"] == "discarded"


async def test_recent_and_finished_jobs_are_left_alone(river_url, aconn):
    recent = await insert_job(aconn, state="running", attempt=1, attempted_at="now")
    await aconn.execute("UPDATE river_job SET attempted_at = now() - interval '59 minutes' WHERE id = %s", [recent])
    done = await insert_job(aconn, state="completed", attempt=1, attempted_at=LONG_AGO)
    result = await rescuer(river_url).run_once()
    assert (result.retried, result.discarded, result.cancelled) == (0, 0, 0)
    assert (await job_row(aconn, recent))["state"] == "running"
    assert (await job_row(aconn, done))["state"] == "completed"


async def test_threshold_is_configurable(river_url, aconn):
    job = await insert_job(aconn, state="running", attempt=1, attempted_at="now")
    await aconn.execute("UPDATE river_job SET attempted_at = now() - interval '2 minutes' WHERE id = %s", [job])
    await rescuer(river_url, rescue_stuck_jobs_after=timedelta(minutes=1)).run_once()
    assert (await job_row(aconn, job))["state"] == "retryable"


async def test_job_finished_during_the_round_keeps_its_outcome(river_url, aconn):
    job = await insert_job(aconn, state="running", attempt=1, attempted_at=LONG_AGO)

    def finish_meanwhile(row):
        # The worker completes the job between the rescuer's read and its update.
        with psycopg.connect(river_url, autocommit=True) as other:
            other.execute("UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = %s", [row.id])
        return RETRY_AT

    result = await rescuer(river_url, next_retry=finish_meanwhile).run_once()
    assert result.retried == 0
    row = await job_row(aconn, job)
    assert row["state"] == "completed"
    assert row["errors"] is None


async def test_batches_cover_every_stuck_job(river_url, aconn):
    ids = [await insert_job(aconn, state="running", attempt=1, attempted_at=LONG_AGO) for _ in range(5)]
    result = await rescuer(river_url, batch_size=2).run_once()
    assert result.retried == 5
    assert {(await job_row(aconn, i))["state"] for i in ids} == {"retryable"}


def test_decision_is_a_pure_function():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = Job.from_row(
        {
            "id": 1, "state": "running", "attempt": 1, "max_attempts": 2, "attempted_at": now, "created_at": now,
            "finalized_at": None, "scheduled_at": now, "priority": 1, "args": {}, "attempted_by": ["c"],
            "errors": None, "kind": "k", "metadata": {}, "queue": "default", "tags": [], "unique_key": None,
            "unique_states": None,
        }
    )  # fmt: skip
    assert decide_rescue(base, now, lambda j: RETRY_AT, None).state == "retryable"
    assert decide_rescue(replace(base, attempt=2), now, lambda j: RETRY_AT, None).state == "discarded"
    assert decide_rescue(base, now, lambda j: RETRY_AT, lambda kind: kind != "k").state == "discarded"
    cancelled = decide_rescue(replace(base, metadata={"cancel_attempted_at": "x"}), now, lambda j: RETRY_AT, None)
    assert cancelled is not None
    assert (cancelled.state, cancelled.finalized_at) == ("cancelled", now)
    # The cancel key counts on an object only, never as an element of an array.
    listed = decide_rescue(replace(base, metadata=["cancel_attempted_at"]), now, lambda j: RETRY_AT, None)
    assert listed is not None
    assert listed.state == "retryable"
    later = now + timedelta(hours=1, minutes=30)
    assert decide_rescue(base, later, lambda j: RETRY_AT, None, lambda kind: 2 * 3600.0) is None
    assert decide_rescue(base, later, lambda j: RETRY_AT, None, lambda kind: None) is None
    assert decide_rescue(base, later, lambda j: RETRY_AT, None, lambda kind: 60.0).state == "retryable"


async def test_non_object_metadata_is_rescued_and_never_read_as_a_cancel(river_url, aconn):
    listed = await insert_job(aconn, state="running", attempt=1, attempted_at=LONG_AGO)
    number = await insert_job(aconn, state="running", attempt=1, attempted_at=LONG_AGO)
    await aconn.execute("UPDATE river_job SET metadata = '[\"cancel_attempted_at\"]' WHERE id = %s", [listed])
    await aconn.execute("UPDATE river_job SET metadata = '7' WHERE id = %s", [number])
    result = await rescuer(river_url).run_once()
    assert (result.retried, result.discarded, result.cancelled) == (2, 0, 0)
    assert (await job_row(aconn, listed))["state"] == "retryable"
    assert (await job_row(aconn, number))["state"] == "retryable"


async def test_a_kind_whose_timeout_has_not_passed_is_left_running(river_url, aconn):
    # River's rescuer skips a job whose worker's timeout is longer than rescue_stuck_jobs_after
    # until that timeout has passed, and never rescues a job whose timeout is NO_TIMEOUT.
    timeouts = {"slow_kind": 2 * 3600.0, "quick_kind": 60.0, "endless_kind": None}
    slow = await insert_job(aconn, state="running", kind="slow_kind", attempt=1, attempted_at="now")
    quick = await insert_job(aconn, state="running", kind="quick_kind", attempt=1, attempted_at="now")
    endless = await insert_job(aconn, state="running", kind="endless_kind", attempt=1, attempted_at=LONG_AGO)
    overdue = await insert_job(aconn, state="running", kind="slow_kind", attempt=1, attempted_at="now")
    ninety_minutes_ago = "now() - interval '90 minutes'"
    await aconn.execute(f"UPDATE river_job SET attempted_at = {ninety_minutes_ago} WHERE id = ANY(%s)", [[slow, quick]])
    await aconn.execute("UPDATE river_job SET attempted_at = now() - interval '3 hours' WHERE id = %s", [overdue])
    result = await rescuer(river_url, timeout_of=timeouts.__getitem__).run_once()
    assert (result.retried, result.discarded, result.cancelled) == (2, 0, 0)
    assert (await job_row(aconn, slow))["state"] == "running"
    assert (await job_row(aconn, endless))["state"] == "running"
    assert (await job_row(aconn, quick))["state"] == "retryable"
    assert (await job_row(aconn, overdue))["state"] == "retryable"


async def test_the_clients_rescuer_knows_each_workers_timeout(river_url):
    class Slow(Worker[Any]):
        kind = "slow_kind"
        timeout = timedelta(hours=2)

        async def work(self, job: WorkJob[Any]) -> None:
            return None

    class Endless(Slow):
        kind = "endless_kind"
        timeout = NO_TIMEOUT

    class Plain(Slow):
        kind = "plain_kind"
        timeout = None

    settings = work_settings(
        **{
            **WORK_DEFAULTS,
            "queues": {"default": QueueConfig()},
            "workers": Workers(Slow(), Endless(), Plain()),
            "job_timeout": timedelta(minutes=5),
            "leader_election": True,
        }
    )
    assert settings is not None
    pool = AsyncConnectionPool(river_url, open=False)
    working = Working(pool=pool, schema=None, settings=settings, contract=None, insert_periodic=_no_insert)
    (maintainer,) = [part for part in working.runtime._services if isinstance(part, QueueMaintainer)]
    (service,) = [part for part in maintainer.services if isinstance(part, JobRescuer)]
    timeout_of = service._timeout_of
    assert timeout_of is not None
    assert [timeout_of(kind) for kind in ("slow_kind", "endless_kind", "plain_kind")] == [7200.0, None, 300.0]


async def _no_insert(inserts: object) -> None:
    raise AssertionError("no periodic jobs here")


def test_defaults_and_validation():
    config = JobRescuerConfig()
    assert config.interval == timedelta(seconds=30)
    assert config.rescue_stuck_jobs_after == timedelta(hours=1)
    with pytest.raises(ValidationError, match="rescue_stuck_jobs_after"):
        JobRescuerConfig(rescue_stuck_jobs_after=timedelta(seconds=-1))


_DOOMED_WORKER = """
import sys, threading
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(
        "UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),"
        " attempted_by = array_append(attempted_by, 'doomed') WHERE id = %s",
        [int(sys.argv[2])],
    )
    print("claimed", flush=True)
    threading.Event().wait()
"""


@pytest.mark.go
async def test_job_of_a_killed_worker_is_rescued_and_completed_by_another_worker(river_url, aconn):
    job_id = await insert_job(
        aconn, kind="go_noop", queue="rescue_q", state="scheduled", scheduled_at="2999-01-01T00:00:00Z"
    )
    doomed = subprocess.Popen([sys.executable, "-c", _DOOMED_WORKER, river_url, str(job_id)], stdout=subprocess.PIPE)
    go = None
    try:
        assert doomed.stdout is not None
        assert doomed.stdout.readline().strip() == b"claimed"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert (await job_row(aconn, job_id))["state"] == "running"
        go = await GoClient.start(river_url, "go-rescue-worker", queue="rescue_q")
        service = rescuer(
            river_url, next_retry=lambda job: datetime.now(UTC), rescue_stuck_jobs_after=timedelta(milliseconds=200)
        )
        scheduler = JobScheduler(connect=connect_each_time(river_url), stagger=False)
        await await_until(lambda: _rescued(service), what="rescue of the killed worker's job")
        await scheduler.run_once()
        await await_until(lambda: _state_is(aconn, job_id, "completed"), timeout=20, what="Go worker completes it")
        row = await job_row(aconn, job_id)
        assert row["attempt"] == 2
        assert row["errors"][0]["error"] == RESCUE_ERROR
        assert row["attempted_by"] == ["doomed", "go-rescue-worker"]
    finally:
        doomed.kill()
        doomed.wait()
        if go is not None:
            await go.stop()


async def _rescued(service: JobRescuer) -> bool:
    return (await service.run_once()).retried == 1


async def _state_is(conn, job_id: int, state: str) -> bool:
    return (await job_row(conn, job_id))["state"] == state
