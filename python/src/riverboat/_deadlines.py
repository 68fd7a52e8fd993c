"""Job timeouts for ``async def`` workers with one timer per time slot, not one per job.

A timer per job (``asyncio.timeout``) schedules and cancels a heap entry for every job;
at thousands of jobs a second that is a measurable share of the worker's time. Jobs
whose deadlines fall in the same ``SLOT_SECONDS`` share one timer instead, so a job is
timed out at most ``SLOT_SECONDS`` after its deadline.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

SLOT_SECONDS = 0.01


class Expirable(Protocol):
    def time_out(self) -> None: ...


class Deadlines:
    """Calls ``time_out()`` of each registered job whose deadline passed, unless it was
    removed first. Used from the event loop's thread only."""

    def __init__(self) -> None:
        self._slots: dict[int, dict[int, Expirable]] = {}

    def add(self, job: Expirable, timeout: float) -> int:
        """Register ``job`` to time out after ``timeout`` seconds; returns its slot for ``remove``."""
        loop = asyncio.get_running_loop()
        slot = math.ceil((loop.time() + timeout) / SLOT_SECONDS)
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = {}
            loop.call_at(slot * SLOT_SECONDS, self._expire, slot)
        members[id(job)] = job
        return slot

    def remove(self, job: Expirable, slot: int) -> None:
        members = self._slots.get(slot)
        if members is not None:
            members.pop(id(job), None)

    def _expire(self, slot: int) -> None:
        for job in self._slots.pop(slot, {}).values():
            job.time_out()
