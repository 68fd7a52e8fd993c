"""Job cleaner: finalized jobs are deleted after their retention (spec/11-maintenance.md#job-cleaner)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from riverboat._maintenance import BATCH_SIZE_DEFAULT, MaintenanceService, pause_between_batches
from riverboat._queries import query
from riverboat._service import require_batch_size, require_positive
from riverboat.errors import ValidationError

JOB_CLEANER_INTERVAL_DEFAULT = timedelta(seconds=30)
CANCELLED_JOB_RETENTION_DEFAULT = timedelta(hours=24)
COMPLETED_JOB_RETENTION_DEFAULT = timedelta(hours=24)
DISCARDED_JOB_RETENTION_DEFAULT = timedelta(days=7)
KEEP_FOREVER: Literal[-1] = -1
"""A retention that never deletes jobs of that state (River's -1)."""

Retention = timedelta | Literal[-1]


def _require_retention(field: str, value: Retention) -> None:
    if value == KEEP_FOREVER and not isinstance(value, bool):
        return
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(field, "must be a timedelta >= 0 or -1 (keep forever)", value)


@dataclass(frozen=True)
class JobCleanerConfig:
    interval: timedelta = JOB_CLEANER_INTERVAL_DEFAULT
    cancelled_job_retention: Retention = CANCELLED_JOB_RETENTION_DEFAULT
    completed_job_retention: Retention = COMPLETED_JOB_RETENTION_DEFAULT
    discarded_job_retention: Retention = DISCARDED_JOB_RETENTION_DEFAULT
    batch_size: int = BATCH_SIZE_DEFAULT

    def __post_init__(self) -> None:
        require_positive("interval", self.interval)
        _require_retention("cancelled_job_retention", self.cancelled_job_retention)
        _require_retention("completed_job_retention", self.completed_job_retention)
        _require_retention("discarded_job_retention", self.discarded_job_retention)
        require_batch_size("batch_size", self.batch_size)


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
