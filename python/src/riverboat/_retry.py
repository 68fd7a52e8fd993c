"""The default retry policy (spec/08-retry.md): River's, so mixed fleets back off alike.

delay = (len(errors) + 1)^4 seconds x (1 + uniform(-10 %, +10 %)), where ``errors`` are the
job's earlier errors: the count includes the failure being handled, and snoozes don't count.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from riverboat.job import Job

JITTER = 0.1
# Python's timedelta tops out near 2.7 million years; River caps at Go's ~292 years.
MAX_DELAY = timedelta(days=292 * 365)


class RetryPolicy(Protocol):
    """Decides when a failed job runs again."""

    def next_retry(self, job: Job, now: datetime) -> datetime: ...


def default_delay(error_count: int, unit: float) -> timedelta:
    """The delay after the ``error_count``-th error, with ``unit`` a jitter factor in [-1, 1]."""
    base = float(error_count) ** 4
    if base >= MAX_DELAY.total_seconds():
        return MAX_DELAY
    return timedelta(seconds=base * (1 + JITTER * unit))


class DefaultRetryPolicy:
    """River's polynomial backoff with +/- 10 % jitter."""

    def __init__(self, uniform: Callable[[], float] | None = None) -> None:
        # ``uniform`` gives values in [-1, 1]; tests pass a fixed one.
        self._uniform = uniform or (lambda: random.uniform(-1.0, 1.0))

    def next_retry(self, job: Job, now: datetime) -> datetime:
        return now + default_delay(len(job.errors or ()) + 1, self._uniform())
