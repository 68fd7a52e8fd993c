"""Leader-only maintenance services, one module each, with River Go's semantics and
defaults (spec/11-maintenance.md). Every service has the shape of ``riverboat._service``."""

from __future__ import annotations

import asyncio
import random
from abc import abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from riverboat._service import ConnectionSource, IntervalService

# River's batch size for maintenance statements; a short batch ends a round.
BATCH_SIZE_DEFAULT = 10_000
# Pause between full batches so a backlog doesn't monopolise the database.
BATCH_PAUSE_MIN = timedelta(milliseconds=50)
BATCH_PAUSE_MAX = timedelta(seconds=1)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def pause_between_batches() -> None:
    await asyncio.sleep(random.uniform(BATCH_PAUSE_MIN.total_seconds(), BATCH_PAUSE_MAX.total_seconds()))


class IntervalConfig(Protocol):
    @property
    def interval(self) -> timedelta: ...


R = TypeVar("R")
C = TypeVar("C", bound=IntervalConfig)


class MaintenanceService(IntervalService[R], Generic[R, C]):
    """A leader-only service working on the database: a connection source, the schema
    (``None``: the search_path), a frozen config whose ``interval`` paces it, and a clock
    that tests can fix."""

    def __init__(
        self,
        *,
        connect: ConnectionSource,
        schema: str | None = None,
        config: C | None = None,
        clock: Clock = utcnow,
        stagger: bool = True,
    ) -> None:
        super().__init__(stagger=stagger)
        self._connect = connect
        self._schema = schema
        self._config: C = config if config is not None else self.default_config()
        self._clock = clock

    @staticmethod
    @abstractmethod
    def default_config() -> C:
        """River's defaults for this service."""

    @property
    def interval(self) -> timedelta:
        return self._config.interval
