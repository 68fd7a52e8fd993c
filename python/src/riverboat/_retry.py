"""The default retry policy (spec/08-retry.md): River's, so mixed fleets back off alike.

delay = (len(errors) + 1)^4 seconds x (1 + uniform(-10 %, +10 %)), where ``errors`` are the
job's earlier errors: the count includes the failure being handled, and snoozes don't count.
The delay never exceeds Go's largest ``time.Duration`` (2^63 - 1 ns, about 292 years),
jitter included; River computes in float64 seconds and converts to whole nanoseconds, and
so does this module (then truncates to the microseconds Python and PostgreSQL keep).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from riverboat.job import Job

JITTER = 0.1
#: Go's largest ``time.Duration`` in nanoseconds, the longest delay River schedules.
MAX_DELAY_NANOS = 2**63 - 1
#: The same in float64 seconds, as Go's ``Duration.Seconds()`` gives it (9223372036.854776).
MAX_DELAY_SECONDS = MAX_DELAY_NANOS // 10**9 + (MAX_DELAY_NANOS % 10**9) / 1e9
MAX_DELAY = timedelta(microseconds=MAX_DELAY_NANOS // 1000)


class RetryPolicy(Protocol):
    """Decides when a failed job runs again."""

    def next_retry(self, job: Job, now: datetime) -> datetime: ...


def default_delay(error_count: int, unit: float) -> timedelta:
    """The delay after the ``error_count``-th error, with ``unit`` a jitter factor in [-1, 1]."""
    base = min(float(error_count) ** 4, MAX_DELAY_SECONDS)
    # At the cap River adds no jitter; below it, jitter may not carry the delay past the cap.
    seconds = base if base == MAX_DELAY_SECONDS else min(base + base * (JITTER * unit), MAX_DELAY_SECONDS)
    if seconds >= MAX_DELAY_SECONDS:
        return MAX_DELAY
    return timedelta(microseconds=int(seconds * 1e9) // 1000)


class DefaultRetryPolicy:
    """River's polynomial backoff with +/- 10 % jitter."""

    def __init__(self, uniform: Callable[[], float] | None = None) -> None:
        # ``uniform`` gives values in [-1, 1]; tests pass a fixed one.
        self._uniform = uniform or (lambda: random.uniform(-1.0, 1.0))

    def next_retry(self, job: Job, now: datetime) -> datetime:
        return now + default_delay(len(job.errors or ()) + 1, self._uniform())
