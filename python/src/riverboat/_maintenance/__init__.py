"""Leader-only maintenance services, one module each, with River Go's semantics and
defaults (spec/11-maintenance.md). Every service has the shape of ``riverboat._service``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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
