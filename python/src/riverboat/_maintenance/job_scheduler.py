"""Job scheduler: due ``scheduled`` and ``retryable`` jobs become ``available``
(spec/11-maintenance.md#job-scheduler)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from psycopg.rows import dict_row

from riverboat._maintenance import BATCH_SIZE_DEFAULT, MaintenanceService, pause_between_batches
from riverboat._queries import query
from riverboat._rules import validate_count, validate_duration

JOB_SCHEDULER_INTERVAL_DEFAULT = timedelta(seconds=5)
# Jobs made available this close to now are announced with river_insert; later ones are
# left to the producers' polling, as River does.
NOTIFY_HORIZON = timedelta(milliseconds=5)


@dataclass(frozen=True)
class JobSchedulerConfig:
    """How often the scheduler runs (also its look-ahead) and how many rows per statement."""

    interval: timedelta = JOB_SCHEDULER_INTERVAL_DEFAULT
    batch_size: int = BATCH_SIZE_DEFAULT

    def __post_init__(self) -> None:
        validate_duration("interval", self.interval)
        validate_count("batch_size", self.batch_size)


@dataclass(frozen=True)
class JobSchedulerResult:
    scheduled: int
    discarded: int
    notified_queues: tuple[str, ...]


class JobScheduler(MaintenanceService[JobSchedulerResult, JobSchedulerConfig]):
    """Every ``interval``: jobs due within the next ``interval`` become available, in batches
    ordered by priority, scheduled_at, id; unique conflicts are discarded."""

    name = "riverboat-job-scheduler"

    @staticmethod
    def default_config() -> JobSchedulerConfig:
        return JobSchedulerConfig()

    async def run_once(self) -> JobSchedulerResult:
        scheduled = discarded = 0
        notified: set[str] = set()
        while True:
            async with self._connect() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                look_ahead = self._clock() + self._config.interval
                await cur.execute(
                    query("job_schedule", self._schema), {"now": look_ahead, "max": self._config.batch_size}
                )
                rows = await cur.fetchall()
                horizon = self._clock() + NOTIFY_HORIZON
                queues = sorted({r["queue"] for r in rows if not r["discard"] and r["scheduled_at"] <= horizon})
                if queues:
                    await cur.execute(
                        query("queue_notify_insert", self._schema), {"schema": self._schema, "queues": queues}
                    )
            discarded += sum(1 for r in rows if r["discard"])
            scheduled += sum(1 for r in rows if not r["discard"])
            notified.update(queues)
            if len(rows) < self._config.batch_size:
                return JobSchedulerResult(scheduled, discarded, tuple(sorted(notified)))
            await pause_between_batches()
