"""Queue maintainer: runs the maintenance services while this client leads
(spec/11-maintenance.md#queue-maintainer)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from riverboat._leader import Elector
from riverboat._maintenance.job_cleaner import JobCleaner, JobCleanerConfig
from riverboat._maintenance.job_rescuer import JobRescuer, JobRescuerConfig, KnownKind, NextRetry, TimeoutOf
from riverboat._maintenance.job_scheduler import JobScheduler, JobSchedulerConfig
from riverboat._maintenance.periodic_job_enqueuer import InsertMany, PeriodicJobEnqueuer
from riverboat._maintenance.queue_cleaner import QueueCleaner, QueueCleanerConfig
from riverboat._service import ConnectionSource, IntervalService, start_all, stop_together
from riverboat.errors import ValidationError
from riverboat.periodic import PeriodicJob


class QueueMaintainer:
    """Starts its services when the elector gains leadership and stops them when it loses it."""

    def __init__(self, *, elector: Elector, services: Sequence[IntervalService[Any]]) -> None:
        self._services = list(services)
        self._lock = asyncio.Lock()
        elector.subscribe(self.on_leadership)

    @property
    def services(self) -> list[IntervalService[Any]]:
        return list(self._services)

    @property
    def running(self) -> bool:
        return any(service.running for service in self._services)

    async def on_leadership(self, is_leader: bool) -> None:
        async with self._lock:
            if is_leader:
                await start_all(self._services)
            else:
                await stop_together(self._services)

    async def start(self) -> None:
        """Nothing runs until leadership is gained; present for the service shape."""

    async def stop(self) -> None:
        await self.on_leadership(False)


def standard_services(
    *,
    connect: ConnectionSource,
    schema: str | None,
    next_retry: NextRetry,
    is_known_kind: KnownKind | None,
    timeout_of: TimeoutOf | None = None,
    periodic_jobs: Sequence[PeriodicJob] = (),
    insert_many: InsertMany | None = None,
    scheduler: JobSchedulerConfig | None = None,
    rescuer: JobRescuerConfig | None = None,
    cleaner: JobCleanerConfig | None = None,
    queue_cleaner: QueueCleanerConfig | None = None,
) -> list[IntervalService[Any]]:
    """River's leader services for one client: scheduler, rescuer, job cleaner, queue
    cleaner and, when there are periodic jobs, the periodic job enqueuer."""
    services: list[IntervalService[Any]] = [
        JobScheduler(connect=connect, schema=schema, config=scheduler),
        JobRescuer(
            connect=connect,
            schema=schema,
            next_retry=next_retry,
            is_known_kind=is_known_kind,
            timeout_of=timeout_of,
            config=rescuer,
        ),
        JobCleaner(connect=connect, schema=schema, config=cleaner),
        QueueCleaner(connect=connect, schema=schema, config=queue_cleaner),
    ]
    if periodic_jobs:
        if insert_many is None:
            raise ValidationError("insert_many", "required", "is required when there are periodic jobs")
        services.append(PeriodicJobEnqueuer(jobs=periodic_jobs, insert_many=insert_many))
    return services
