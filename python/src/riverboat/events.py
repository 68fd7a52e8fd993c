"""Outcome events: subscribe to hear about every job a client finishes working
(completed, failed, cancelled, snoozed, discarded, interrupted by a stop) with its row as stored and how long it ran."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from riverboat._states import JobState
from riverboat.job import Job

logger = logging.getLogger("riverboat")


class EventKind(StrEnum):
    COMPLETED = "completed"
    #: Failed with attempts left: the job is ``retryable`` or ``available`` again.
    FAILED = "failed"
    CANCELLED = "cancelled"
    SNOOZED = "snoozed"
    DISCARDED = "discarded"
    #: Cancelled by the client's stop: ``available`` again, attempt given back, no error.
    INTERRUPTED = "interrupted"


# A job stored in one of these states ended that way, whatever its worker's outcome was
# (a completion racing a remote cancel, a job completed in the worker's own transaction).
_EVENT_BY_FINAL_STATE = {
    JobState.COMPLETED: EventKind.COMPLETED,
    JobState.CANCELLED: EventKind.CANCELLED,
    JobState.DISCARDED: EventKind.DISCARDED,
}


def event_kind(stored: JobState, outcome: EventKind) -> EventKind:
    """The event of a job whose row was stored in state ``stored`` after ``outcome``."""
    return _EVENT_BY_FINAL_STATE.get(stored, outcome)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    #: The row after the completion was stored.
    job: Job
    #: Time spent in ``work``.
    duration: timedelta


EventCallback = Callable[[Event], None]


class Events:
    """A small synchronous hub. Callbacks run on the event loop and must be quick; an
    exception from one is logged and does not reach the others."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[EventCallback, frozenset[EventKind]]] = []
        self._written = dict.fromkeys(EventKind, 0)

    def count_written(self, outcomes: Iterable[EventKind]) -> None:
        """Count outcomes the client's completer wrote (whether or not anyone subscribes:
        counting needs no rows read back)."""
        written = self._written
        for outcome in outcomes:
            written[outcome] += 1

    def written(self) -> dict[EventKind, int]:
        """How many outcomes of each kind the client's workers have written so far."""
        return dict(self._written)

    def subscribe(self, callback: EventCallback, kinds: Iterable[EventKind] | None = None) -> Callable[[], None]:
        """Call ``callback`` for events of ``kinds`` (all by default); returns an unsubscribe function."""
        entry = (callback, frozenset(EventKind) if kinds is None else frozenset(kinds))
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry) if entry in self._subscribers else None

    def emit(self, event: Event) -> None:
        for callback, kinds in list(self._subscribers):
            if event.kind in kinds:
                try:
                    callback(event)
                except Exception:
                    logger.exception("event subscriber %r failed", callback)

    def __bool__(self) -> bool:
        return bool(self._subscribers)
