"""A job's row change at the end of an attempt, and the parameters of the one statement
that applies a batch of them (spec/07-complete.md): shared by the batch completer, by
``complete_tx`` (a worker completing its job in its own transaction) and by
``riverboat.testing``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from psycopg.types.json import Jsonb

from riverboat.events import EventKind


class Completion(NamedTuple):
    """One row change for the completer, plus what the event needs (a named tuple: one is
    made per job, and a frozen dataclass's field-by-field init costs four times as much)."""

    job_id: int
    state: str
    outcome: EventKind
    duration: timedelta
    attempt: int | None = None
    error: dict[str, Any] | None = None
    finalized_at: datetime | None = None
    scheduled_at: datetime | None = None
    metadata_updates: dict[str, Any] | None = None


def set_state_params(
    batch: Sequence[Completion], *, read_rows: bool, attempted_at: Sequence[datetime | None] | None = None
) -> dict[str, Any]:
    """The parameters of ``job_set_state_if_running_many`` for ``batch``; with ``read_rows``
    false the server changes the rows without sending them back. ``attempted_at`` (one per
    completion; ``None``: any attempt) limits each outcome to the attempt it belongs to."""
    return {
        "read_rows": read_rows,
        "id": [c.job_id for c in batch],
        "state": [c.state for c in batch],
        "attempt": [c.attempt for c in batch],
        "error": [None if c.error is None else Jsonb(c.error) for c in batch],
        "finalized_at": [c.finalized_at for c in batch],
        "scheduled_at": [c.scheduled_at for c in batch],
        "metadata_updates": [None if c.metadata_updates is None else Jsonb(c.metadata_updates) for c in batch],
        "attempted_at": list(attempted_at) if attempted_at is not None else [None] * len(batch),
    }


def is_plain_completion(completion: Completion) -> bool:
    """Whether ``completion`` only completes its job: the outcome ``job_set_completed_many``
    can write (no metadata to merge, nothing else changed)."""
    return completion.state == "completed" and completion.metadata_updates is None


def set_completed_params(batch: Sequence[Completion], attempted_at: Sequence[datetime | None]) -> dict[str, Any]:
    """The parameters of ``job_set_completed_many`` for a batch of plain completions."""
    return {
        "id": [c.job_id for c in batch],
        "finalized_at": [c.finalized_at for c in batch],
        "attempted_at": list(attempted_at),
    }

