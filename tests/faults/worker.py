"""The worker process of the fault scenarios: ``riverboat work tests.faults.worker:make``,
configured from the environment by ``tests.faults.harness``.

Every execution of a ``fault_probe`` job writes a row to the side table ``fault_execution``
over a connection of its own that bypasses the proxy, so the scenario can count what really
ran. A probe with ``fail_first`` fails its first attempt (an error is recorded), so outcomes
other than success are written under faults too.

The leader's timings are shortened here (election, rescuer, scheduler), by replacing the
defaults the client builds them with: a scenario must not wait River's minutes. The worker
also runs against a riverboat without ``DatabaseTimeouts`` (``scripts/chaos --library``
measures the code before it) by leaving that setting out.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

import riverboat
import riverboat._working as working
from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob
from riverboat._leader import ElectorConfig
from riverboat._maintenance.job_rescuer import JobRescuerConfig
from riverboat._maintenance.job_scheduler import JobScheduler, JobSchedulerConfig
from riverboat.job import Job

PROBE = "fault_probe"
SIDE_WRITE_DEADLINE = 5.0
MAINTENANCE_INTERVAL = timedelta(seconds=1)
RETRY_AFTER = timedelta(milliseconds=200)
#: Short deadlines for the test suite's scenarios (``FAULT_PROFILE=fast``); ``default``
#: keeps riverboat's own.
FAST_TIMEOUTS = {
    "work": timedelta(seconds=2),
    "listener": timedelta(seconds=2),
    "leader": timedelta(seconds=1),
    "maintenance": timedelta(seconds=5),
    "admin": timedelta(seconds=5),
    "insert": timedelta(seconds=5),
}

_side_pool: AsyncConnectionPool[Any] | None = None


async def _side() -> AsyncConnectionPool[Any]:
    global _side_pool  # noqa: PLW0603 - one pool per process, opened inside its event loop
    if _side_pool is None:
        _side_pool = AsyncConnectionPool(
            os.environ["FAULT_SIDE_URL"],
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
        )
        await _side_pool.open()
    return _side_pool


class Probe(Worker[Any]):
    kind = PROBE

    async def work(self, job: WorkJob[Any]) -> None:
        fails = bool(job.args.get("fail_first")) and job.attempt == 1
        pool = await _side()
        async with asyncio.timeout(SIDE_WRITE_DEADLINE), pool.connection() as conn:
            await conn.execute(
                "INSERT INTO fault_execution (job_id, attempt, outcome, client_id, attempted_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (job.id, job.attempt, "fail" if fails else "ok", job.row.attempted_by[-1], job.row.attempted_at),
            )
        await asyncio.sleep(float(job.args.get("sleep", 0.02)))
        if fails:
            raise RuntimeError("fault probe: failing its first attempt on purpose")


class SoonRetry:
    """Failed and rescued jobs run again soon: a scenario must not wait River's backoff."""

    def next_retry(self, job: Job, now: datetime) -> datetime:
        return now + RETRY_AFTER


def _shorten_leader_timings() -> None:
    working.Elector = functools.partial(  # type: ignore[misc]
        working.Elector, config=ElectorConfig(elect_interval=timedelta(seconds=1), ttl_padding=timedelta(seconds=2))
    )
    working.JobRescuerConfig = functools.partial(JobRescuerConfig, interval=MAINTENANCE_INTERVAL)  # type: ignore[misc]
    JobScheduler.default_config = staticmethod(lambda: JobSchedulerConfig(interval=MAINTENANCE_INTERVAL))  # type: ignore[method-assign]


def make() -> AsyncClient:
    logging.basicConfig(
        level=os.environ.get("FAULT_LOG_LEVEL", "WARNING"), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    _shorten_leader_timings()
    options: dict[str, Any] = {}
    timeouts = getattr(riverboat, "DatabaseTimeouts", None)
    if timeouts is not None and os.environ.get("FAULT_PROFILE", "fast") == "fast":
        options["database_timeouts"] = timeouts(**FAST_TIMEOUTS)
    return AsyncClient(
        os.environ["FAULT_URL"],
        queues={
            os.environ.get("FAULT_QUEUE", "default"): QueueConfig(
                max_workers=int(os.environ.get("FAULT_MAX_WORKERS", "5")),
                fetch_poll_interval=timedelta(milliseconds=int(os.environ.get("FAULT_POLL_MS", "200"))),
            )
        },
        workers=Workers(Probe()),
        client_id=os.environ["FAULT_CLIENT_ID"],
        job_timeout=timedelta(seconds=float(os.environ.get("FAULT_JOB_TIMEOUT", "5"))),
        rescue_stuck_jobs_after=timedelta(seconds=float(os.environ.get("FAULT_RESCUE_AFTER", "120"))),
        soft_stop_timeout=timedelta(seconds=float(os.environ.get("FAULT_SOFT_STOP", "2"))),
        retry_policy=SoonRetry(),
        **options,
    )
