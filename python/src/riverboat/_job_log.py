"""The one log line of each job outcome (spec/07-complete.md#logging), on the
``riverboat.executor`` logger. Every line carries the job's identity as record attributes
(``job_id``, ``job_kind``, ``queue``, ``attempt``, ``max_attempts``, ``outcome``,
``duration``, and for failures ``error_class`` and ``retry_at``) and in its text; never the
job's args or metadata, which may hold personal data.

Levels: a completion is DEBUG; a snooze, a cancel or an interruption by a stop is INFO; a
failed attempt that will be retried is WARNING; a discard (no attempts left, args that
break the contract, ``discard()``) is ERROR; a ``BaseException`` that is not an
``Exception`` (Python's nearest thing to a panic) is ERROR with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from riverboat._completion import Completion
from riverboat._time import format_time
from riverboat.events import EventKind
from riverboat.job import Job

logger = logging.getLogger("riverboat.executor")

_LEVELS = {
    EventKind.COMPLETED: logging.DEBUG,
    EventKind.SNOOZED: logging.INFO,
    EventKind.CANCELLED: logging.INFO,
    EventKind.INTERRUPTED: logging.INFO,
    EventKind.FAILED: logging.WARNING,
    EventKind.DISCARDED: logging.ERROR,
}


def log_outcome(job: Job, completion: Completion, raised: BaseException | None, *, completed_in_tx: bool) -> None:
    """Log ``completion`` of ``job``; ``raised`` is what the job raised, if anything."""
    outcome = completion.outcome
    panic = raised is not None and not isinstance(raised, Exception)
    level = logging.ERROR if panic else _LEVELS[outcome]
    if completed_in_tx and outcome is not EventKind.COMPLETED:
        # The worker's own transaction completed the job; unless that transaction was rolled
        # back, the row stays completed and what happened after is not recorded.
        level = logging.INFO
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "job_id": job.id,
        "job_kind": job.kind,
        "queue": job.queue,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "outcome": outcome.value,
        "duration": round(completion.duration.total_seconds(), 6),
    }
    text = (
        f"job {outcome.value}: kind={job.kind} id={job.id} queue={job.queue} "
        f"attempt={job.attempt}/{job.max_attempts} duration={fields['duration']:.3f}s"
    )
    if completion.error is not None:
        fields["error_class"] = type(raised).__name__ if raised is not None else "RiverboatError"
        text += f" error={completion.error['error']}"
    if outcome is EventKind.FAILED and completion.scheduled_at is not None:
        fields["retry_at"] = format_time(completion.scheduled_at)
        text += f"; retrying at {fields['retry_at']}"
    elif outcome is EventKind.SNOOZED and completion.scheduled_at is not None:
        fields["retry_at"] = format_time(completion.scheduled_at)
        text += f"; runs again at {fields['retry_at']}"
    elif outcome is EventKind.DISCARDED and job.attempt >= job.max_attempts:
        text += "; no attempts left"
    if completed_in_tx and outcome is not EventKind.COMPLETED:
        text += " (completed in the worker's transaction: this outcome is not recorded unless that rolled back)"
    logger.log(level, "%s", text, extra=fields, exc_info=raised if panic else None)
