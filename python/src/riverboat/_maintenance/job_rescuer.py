"""Job rescuer: jobs left ``running`` by a worker that died are retried, discarded or
cancelled (spec/11-maintenance.md#job-rescuer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from riverboat._defaults import RESCUE_STUCK_JOBS_AFTER_DEFAULT
from riverboat._maintenance import BATCH_SIZE_DEFAULT, Clock, MaintenanceService, pause_between_batches, utcnow
from riverboat._queries import query
from riverboat._rules import validate_count, validate_duration
from riverboat._service import ConnectionSource, logger
from riverboat.job import AttemptError, Job

JOB_RESCUER_INTERVAL_DEFAULT = timedelta(seconds=30)
RESCUE_ERROR = "Stuck job rescued by JobRescuer"

NextRetry = Callable[[Job], datetime]
"""When a rescued job should run again: the client's retry policy."""
KnownKind = Callable[[str], bool]
TimeoutOf = Callable[[str], float | None]
"""Seconds a job of this kind may run (its worker's ``timeout``, else the client's job
timeout), or ``None`` when it may run for ever (``NO_TIMEOUT``)."""


@dataclass(frozen=True)
class JobRescuerConfig:
    interval: timedelta = JOB_RESCUER_INTERVAL_DEFAULT
    rescue_stuck_jobs_after: timedelta = RESCUE_STUCK_JOBS_AFTER_DEFAULT
    batch_size: int = BATCH_SIZE_DEFAULT

    def __post_init__(self) -> None:
        validate_duration("interval", self.interval)
        validate_duration("rescue_stuck_jobs_after", self.rescue_stuck_jobs_after)
        validate_count("batch_size", self.batch_size)


@dataclass(frozen=True)
class JobRescuerResult:
    retried: int
    discarded: int
    cancelled: int


@dataclass(frozen=True)
class RescueDecision:
    state: str
    finalized_at: datetime | None
    scheduled_at: datetime


def decide_rescue(
    job: Job,
    now: datetime,
    next_retry: NextRetry,
    is_known_kind: KnownKind | None,
    timeout_of: TimeoutOf | None = None,
) -> RescueDecision | None:
    """What the rescuer does with one stuck job; River Go's rules. ``None``: leave it running.

    A cancel was requested (the key on an object ``metadata``) → cancelled. A kind this
    client has no worker for → discarded (River Go does the same, so a fleet keeps each
    language's kinds on its own queues). A kind whose timeout has not yet passed since the
    attempt began (longer than ``rescue_stuck_jobs_after``), or that has no timeout → left
    running. Attempts left → retryable at ``next_retry``; none left → discarded.
    """
    if isinstance(job.metadata, Mapping) and "cancel_attempted_at" in job.metadata:
        return RescueDecision("cancelled", now, job.scheduled_at)
    if is_known_kind is not None and not is_known_kind(job.kind):
        logger.error("job rescuer: discarding stuck job %s of unknown kind %r", job.id, job.kind)
        return RescueDecision("discarded", now, job.scheduled_at)
    if timeout_of is not None and job.attempted_at is not None:
        timeout = timeout_of(job.kind)
        if timeout is None or now - job.attempted_at < timedelta(seconds=timeout):
            return None
    if job.attempt < max(job.max_attempts, 0):
        return RescueDecision("retryable", None, next_retry(job))
    return RescueDecision("discarded", now, job.scheduled_at)


class JobRescuer(MaintenanceService[JobRescuerResult, JobRescuerConfig]):
    """Every ``interval``: rescues ``running`` jobs attempted more than
    ``rescue_stuck_jobs_after`` ago (and longer ago than their kind's timeout, with
    ``timeout_of``), touching only rows that are still running."""

    name = "riverboat-job-rescuer"

    def __init__(
        self,
        *,
        connect: ConnectionSource,
        next_retry: NextRetry,
        is_known_kind: KnownKind | None = None,
        timeout_of: TimeoutOf | None = None,
        schema: str | None = None,
        config: JobRescuerConfig | None = None,
        clock: Clock = utcnow,
        stagger: bool = True,
    ) -> None:
        super().__init__(connect=connect, schema=schema, config=config, clock=clock, stagger=stagger)
        self._next_retry = next_retry
        self._is_known_kind = is_known_kind
        self._timeout_of = timeout_of

    @staticmethod
    def default_config() -> JobRescuerConfig:
        return JobRescuerConfig()

    async def run_once(self) -> JobRescuerResult:
        counts = {"retryable": 0, "discarded": 0, "cancelled": 0}
        now = self._clock()
        horizon = now - self._config.rescue_stuck_jobs_after
        after_id = 0
        while True:
            async with self._connect() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    query("job_get_stuck", self._schema),
                    {"after_id": after_id, "stuck_horizon": horizon, "max": self._config.batch_size},
                )
                stuck = await cur.fetchall()
                if stuck:
                    after_id = stuck[-1]["id"]
                    params: dict[str, list[Any]] = {
                        "id": [],
                        "error": [],
                        "finalized_at": [],
                        "scheduled_at": [],
                        "state": [],
                    }
                    for job in (Job.from_row(row) for row in stuck):
                        decision = decide_rescue(job, now, self._next_retry, self._is_known_kind, self._timeout_of)
                        if decision is None:
                            continue
                        error = AttemptError(at=now, attempt=max(job.attempt, 0), error=RESCUE_ERROR, trace="")
                        params["id"].append(job.id)
                        params["error"].append(Jsonb(error.to_json()))
                        params["finalized_at"].append(decision.finalized_at)
                        params["scheduled_at"].append(decision.scheduled_at)
                        params["state"].append(decision.state)
                    if params["id"]:
                        async with conn.transaction():
                            await cur.execute(
                                query("job_rescue_many", self._schema), {**params, "stuck_horizon": horizon}
                            )
                            for row in await cur.fetchall():
                                counts[str(row["state"])] += 1
            if len(stuck) < self._config.batch_size:
                return JobRescuerResult(counts["retryable"], counts["discarded"], counts["cancelled"])
            await pause_between_batches()
