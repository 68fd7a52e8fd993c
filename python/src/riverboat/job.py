"""A row of ``river_job`` as Python values, the error entries of its ``errors`` column,
and the result of an insert (spec/02-lifecycle.md, spec/03-insert.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riverboat._states import JobState, mask_to_states
from riverboat._time import UNKNOWN_TIME, format_time, parse_time


@dataclass(frozen=True)
class AttemptError:
    """One element of ``river_job.errors``: a failed attempt, exactly River's four keys."""

    at: datetime
    attempt: int
    error: str
    trace: str

    def to_json(self) -> dict[str, Any]:
        """The element as River Go writes and reads it."""
        return {"at": format_time(self.at), "attempt": self.attempt, "error": self.error, "trace": self.trace}

    @classmethod
    def from_json(cls, value: object) -> AttemptError:
        """Read an element written by anyone, never raising: what is readable is kept.

        A missing or unreadable ``at`` becomes ``UNKNOWN_TIME`` (0001-01-01Z, Go's zero
        time), a non-integer ``attempt`` becomes 0, a non-string ``error`` becomes its JSON
        text, a non-string ``trace`` becomes "". An element that is not an object at all
        keeps its JSON text as ``error``.
        """
        if not isinstance(value, Mapping):
            return cls(at=UNKNOWN_TIME, attempt=0, error=_json_text(value), trace="")
        at = value.get("at")
        attempt = value.get("attempt")
        error = value.get("error")
        trace = value.get("trace")
        return cls(
            at=(parse_time(at) if isinstance(at, str) else None) or UNKNOWN_TIME,
            attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 0,
            error=error if isinstance(error, str) else ("" if error is None else _json_text(error)),
            trace=trace if isinstance(trace, str) else "",
        )


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


# A tuple, not ``bytes | bytearray | memoryview``: that union is built again at every call.
_RAW_JSON = (bytes, bytearray, memoryview)


def _json_value(value: object) -> Any:
    """A json/jsonb column value: decoded already by psycopg, or the raw bytes of a binary
    loader-less cursor. A ``str`` is already a decoded JSON string (jsonb holding ``"…"``)
    and stays one: decoding it again would turn a string that looks like an object into one."""
    if isinstance(value, _RAW_JSON):
        return json.loads(bytes(value))
    return value


def _states_of(value: object) -> list[JobState] | None:
    """``unique_states`` (bit(8), which psycopg returns as its '01…' text) as a list of states."""
    if value is None:
        return None
    if isinstance(value, int):
        return list(mask_to_states(value))
    return list(mask_to_states(int(str(value), 2)))


_STATES: dict[str, JobState] = {state.value: state for state in JobState}


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Job:
    """A job as stored in ``river_job``; every column, times in UTC, args decoded."""

    id: int
    state: JobState
    attempt: int
    max_attempts: int
    attempted_at: datetime | None
    created_at: datetime
    finalized_at: datetime | None
    scheduled_at: datetime
    priority: int
    args: dict[str, Any]
    attempted_by: list[str]
    errors: list[AttemptError]
    kind: str
    metadata: dict[str, Any]
    queue: str
    tags: list[str]
    unique_key: bytes | None
    unique_states: list[JobState] | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        """A job from a ``river_job`` row read with a dict row factory (extra keys are ignored).

        ``errors`` elements are read with ``AttemptError.from_json`` so a row that another
        client wrote badly still loads.
        """
        unique_key = row["unique_key"]
        errors = row["errors"]
        job = cls.__new__(cls)
        # Rows are read on the fetch and insert hot paths, and a frozen dataclass's __init__
        # sets its 18 fields one object.__setattr__ at a time: fill the instance dict at once.
        job.__dict__.update(
            id=row["id"],
            state=_STATES[row["state"]],
            attempt=row["attempt"],
            max_attempts=row["max_attempts"],
            attempted_at=_utc(row["attempted_at"]),
            created_at=row["created_at"].astimezone(UTC),
            finalized_at=_utc(row["finalized_at"]),
            scheduled_at=row["scheduled_at"].astimezone(UTC),
            priority=row["priority"],
            args=_json_value(row["args"]),
            attempted_by=list(row["attempted_by"] or ()),
            errors=[AttemptError.from_json(_safe_json(e)) for e in errors] if errors else [],
            kind=row["kind"],
            metadata=_json_value(row["metadata"]) or {},
            queue=row["queue"],
            tags=list(row["tags"] or ()),
            unique_key=None if unique_key is None else bytes(unique_key),
            unique_states=_states_of(row["unique_states"]),
        )
        return job

    def to_json(self) -> dict[str, Any]:
        """The job normalized as schema/json/job-row.schema.json describes it."""

        def time(value: datetime | None) -> str | None:
            return None if value is None else format_time(value)

        return {
            "id": self.id,
            "state": self.state.value,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "attempted_at": time(self.attempted_at),
            "created_at": format_time(self.created_at),
            "finalized_at": time(self.finalized_at),
            "scheduled_at": format_time(self.scheduled_at),
            "priority": self.priority,
            "args": self.args,
            "attempted_by": list(self.attempted_by),
            "errors": [e.to_json() for e in self.errors],
            "kind": self.kind,
            "metadata": self.metadata,
            "queue": self.queue,
            "tags": list(self.tags),
            "unique_key": None if self.unique_key is None else self.unique_key.hex(),
            "unique_states": None if self.unique_states is None else [s.value for s in self.unique_states],
        }


def _safe_json(value: object) -> object:
    """An ``errors`` element, never raising: raw bytes that are not JSON are kept as text."""
    try:
        return _json_value(value)
    except ValueError:
        return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | bytearray | memoryview) else value


@dataclass(frozen=True)
class InsertResult:
    """The outcome of inserting one job: the stored row, and whether an existing live job
    with the same unique key was returned in place of a new one."""

    job: Job
    unique_skipped_as_duplicate: bool
