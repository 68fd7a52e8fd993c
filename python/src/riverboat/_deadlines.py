"""Per-job deadlines (job timeouts, stuck-job detection) with one timer per time slot,
not one per job.

A timer per job (``asyncio.timeout``) schedules and cancels a heap entry for every job;
at thousands of jobs a second that is a measurable share of the worker's time. Deadlines
that fall in the same ``SLOT_SECONDS`` share one timer instead, so a callback runs at
most ``SLOT_SECONDS`` after its deadline.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("riverboat")

SLOT_SECONDS = 0.01


class Deadlines:
    """Calls each registered callback whose deadline passed, unless it was removed first.
    Used from the event loop's thread only."""

    def __init__(self) -> None:
        self._slots: dict[int, dict[int, tuple[Any, Callable[[Any], object]]]] = {}

    def add(self, key: Any, seconds: float, callback: Callable[[Any], object]) -> int:
        """Call ``callback(key)`` after ``seconds`` unless ``remove(key, slot)`` comes first;
        returns the slot. ``key`` identifies the registration (one per key and slot); a
        callback that is a bound method made once costs no allocation per registration."""
        loop = asyncio.get_running_loop()
        slot = math.ceil((loop.time() + seconds) / SLOT_SECONDS)
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = {}
            loop.call_at(slot * SLOT_SECONDS, self._expire, slot)
        members[id(key)] = (key, callback)
        return slot

    def remove(self, key: object, slot: int) -> None:
        members = self._slots.get(slot)
        if members is not None:
            members.pop(id(key), None)

    def _expire(self, slot: int) -> None:
        for key, callback in self._slots.pop(slot, {}).values():
            try:
                callback(key)
            except Exception:
                logger.exception("a deadline callback failed")
