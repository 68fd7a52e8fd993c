"""Queue cleaner: ``river_queue`` rows no client has refreshed for a day are deleted
(spec/11-maintenance.md#queue-cleaner)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from riverboat._maintenance import BATCH_SIZE_DEFAULT, MaintenanceService, pause_between_batches
from riverboat._queries import query
from riverboat._rules import validate_count, validate_duration

QUEUE_CLEANER_INTERVAL_DEFAULT = timedelta(hours=1)
QUEUE_RETENTION_DEFAULT = timedelta(hours=24)


@dataclass(frozen=True)
class QueueCleanerConfig:
    interval: timedelta = QUEUE_CLEANER_INTERVAL_DEFAULT
    retention: timedelta = QUEUE_RETENTION_DEFAULT
    batch_size: int = BATCH_SIZE_DEFAULT

    def __post_init__(self) -> None:
        validate_duration("interval", self.interval)
        validate_duration("retention", self.retention)
        validate_count("batch_size", self.batch_size)


@dataclass(frozen=True)
class QueueCleanerResult:
    deleted: tuple[str, ...]


class QueueCleaner(MaintenanceService[QueueCleanerResult, QueueCleanerConfig]):
    """Every ``interval``: deletes queues whose ``updated_at`` is older than ``retention``."""

    name = "riverboat-queue-cleaner"

    @staticmethod
    def default_config() -> QueueCleanerConfig:
        return QueueCleanerConfig()

    async def run_once(self) -> QueueCleanerResult:
        horizon = self._clock() - self._config.retention
        deleted: list[str] = []
        while True:
            async with self._connect() as conn:
                cur = await conn.execute(
                    query("queue_delete_expired", self._schema),
                    {"updated_at_horizon": horizon, "max": self._config.batch_size},
                )
                names = [row[0] for row in await cur.fetchall()]
            deleted.extend(names)
            if len(names) < self._config.batch_size:
                return QueueCleanerResult(tuple(deleted))
            await pause_between_batches()
