"""Job cleaner: finalized jobs are deleted after their retention (spec/11-maintenance.md#job-cleaner)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from riverboat._defaults import (
    CANCELLED_JOB_RETENTION_DEFAULT,
    COMPLETED_JOB_RETENTION_DEFAULT,
    DISCARDED_JOB_RETENTION_DEFAULT,
    Retention,
)
from riverboat._maintenance import BATCH_SIZE_DEFAULT, MaintenanceService, pause_between_batches
from riverboat._queries import query
from riverboat._rules import validate_count, validate_duration, validate_retention

JOB_CLEANER_INTERVAL_DEFAULT = timedelta(seconds=30)


@dataclass(frozen=True)
class JobCleanerConfig:
    interval: timedelta = JOB_CLEANER_INTERVAL_DEFAULT
    cancelled_job_retention: Retention = CANCELLED_JOB_RETENTION_DEFAULT
    completed_job_retention: Retention = COMPLETED_JOB_RETENTION_DEFAULT
    discarded_job_retention: Retention = DISCARDED_JOB_RETENTION_DEFAULT
    batch_size: int = BATCH_SIZE_DEFAULT

    def __post_init__(self) -> None:
        validate_duration("interval", self.interval)
        validate_retention("cancelled_job_retention", self.cancelled_job_retention)
        validate_retention("completed_job_retention", self.completed_job_retention)
        validate_retention("discarded_job_retention", self.discarded_job_retention)
        validate_count("batch_size", self.batch_size)


@dataclass(frozen=True)
class JobCleanerResult:
    deleted: int


def _horizon(now: datetime, retention: Retention) -> datetime | None:
    return None if isinstance(retention, int) else now - retention


class JobCleaner(MaintenanceService[JobCleanerResult, JobCleanerConfig]):
    """Every ``interval``: deletes completed, cancelled and discarded jobs finalized longer
    ago than their retention, in batches."""

    name = "riverboat-job-cleaner"

    @staticmethod
    def default_config() -> JobCleanerConfig:
        return JobCleanerConfig()

    async def run_once(self) -> JobCleanerResult:
        now = self._clock()
        params = {
            "cancelled_horizon": _horizon(now, self._config.cancelled_job_retention),
            "completed_horizon": _horizon(now, self._config.completed_job_retention),
            "discarded_horizon": _horizon(now, self._config.discarded_job_retention),
            "max": self._config.batch_size,
        }
        deleted = 0
        while True:
            async with self._connect() as conn:
                cur = await conn.execute(query("job_delete_before", self._schema), params)
                count = cur.rowcount
            deleted += count
            if count < self._config.batch_size:
                return JobCleanerResult(deleted)
            await pause_between_batches()
