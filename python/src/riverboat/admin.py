"""Types of the admin operations (spec/12-queues-and-admin.md): list parameters and
cursors, and queue rows, and the decisions the operations share. The operations themselves
are methods of ``AsyncClient`` / ``Client`` (implemented in ``riverboat._async.admin``);
their errors are in ``riverboat.errors``."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from riverboat._rules import validate_bool, validate_output, validate_priority
from riverboat._states import JOB_STATE_NAMES
from riverboat.errors import RiverboatError, ValidationError
from riverboat.job import Job
from riverboat.worker import current_context

ORDER_FIELDS = ("id", "scheduled_at", "finalized_at")
JOB_LIST_LIMIT_DEFAULT = 100
JOB_LIST_LIMIT_MAX = 10_000
QUEUE_LIST_LIMIT_DEFAULT = 100

OrderField = Literal["id", "scheduled_at", "finalized_at"]
#: The filters of ``JobListParams``; ``job_delete_many`` needs one of them (or ``unsafe_all``).
FILTER_FIELDS = ("ids", "kinds", "queues", "states", "priorities", "tags_any", "tags_all", "metadata")


@dataclass(frozen=True)
class Queue:
    """A ``river_queue`` row."""

    name: str
    created_at: datetime
    metadata: dict[str, Any]
    paused_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Queue:
        return cls(row["name"], row["created_at"], row["metadata"], row["paused_at"], row["updated_at"])

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


@dataclass(frozen=True)
class LeaderRow:
    """The ``river_leader`` row."""

    leader_id: str
    elected_at: datetime
    expires_at: datetime
    name: str = "default"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LeaderRow:
        return cls(
            leader_id=row["leader_id"], elected_at=row["elected_at"], expires_at=row["expires_at"], name=row["name"]
        )


@dataclass(frozen=True)
class JobListResult:
    """One page of ``job_list``: the jobs and, when the page was full, the cursor of the next."""

    jobs: list[Job]
    next_cursor: str | None


@dataclass(frozen=True)
class JobListCursor:
    """Where a page ended: the order it was for and the last row's (value, id)."""

    order_by: OrderField
    descending: bool
    after_id: int
    after_time: datetime | None

    def encode(self) -> str:
        raw = {
            "o": self.order_by,
            "d": self.descending,
            "id": self.after_id,
            "t": None if self.after_time is None else self.after_time.isoformat(),
        }
        return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> JobListCursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            after_time = None if raw["t"] is None else datetime.fromisoformat(raw["t"])
            cursor = cls(raw["o"], bool(raw["d"]), int(raw["id"]), after_time)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ValidationError("cursor", "format", "must be a cursor returned by job_list", text) from exc
        if cursor.order_by not in ORDER_FIELDS or (cursor.order_by != "id" and cursor.after_time is None):
            raise ValidationError("cursor", "format", "must be a cursor returned by job_list", text)
        return cursor


@dataclass(frozen=True)
class JobListParams:
    """Filters, order and page of ``job_list`` (and ``job_delete_many``). Unset = no filter.

    ``tags_any`` matches jobs with at least one of the tags, ``tags_all`` jobs with all of
    them; ``metadata`` matches jobs whose metadata contains it (JSON containment).
    """

    ids: Sequence[int] | None = None
    kinds: Sequence[str] | None = None
    queues: Sequence[str] | None = None
    states: Sequence[str] | None = None
    priorities: Sequence[int] | None = None
    tags_any: Sequence[str] | None = None
    tags_all: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    order_by: OrderField = "id"
    descending: bool = False
    limit: int = JOB_LIST_LIMIT_DEFAULT
    cursor: str | None = None

    def __post_init__(self) -> None:
        if self.order_by not in ORDER_FIELDS:
            raise ValidationError("order_by", "choice", f"must be one of {', '.join(ORDER_FIELDS)}", self.order_by)
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= JOB_LIST_LIMIT_MAX:
            raise ValidationError("limit", "range", f"must be an integer from 1 to {JOB_LIST_LIMIT_MAX}", self.limit)
        for state in self.states or ():
            if state not in JOB_STATE_NAMES:
                raise ValidationError(
                    "states", "unknown_state", f"must be job states ({', '.join(JOB_STATE_NAMES)})", state
                )
        for priority in self.priorities or ():
            validate_priority(priority, field="priorities")
        if self.metadata is not None and not isinstance(self.metadata, Mapping):
            raise ValidationError("metadata", "type", "must be a JSON object", self.metadata)
        if self.cursor is not None:
            cursor = JobListCursor.decode(self.cursor)
            if (cursor.order_by, cursor.descending) != (self.order_by, self.descending):
                raise ValidationError("cursor", "conflict", "was made for a different order", self.cursor)

    def query_params(self) -> dict[str, Any]:
        """The named parameters of queries/job_list.sql and job_delete_many.sql."""
        cursor = None if self.cursor is None else JobListCursor.decode(self.cursor)

        def listed(values: Sequence[Any] | None) -> list[Any] | None:
            return None if values is None else list(values)

        return {
            "ids": listed(self.ids),
            "kinds": listed(self.kinds),
            "queues": listed(self.queues),
            "states": listed(self.states),
            "priorities": listed(self.priorities),
            "tags_any": listed(self.tags_any),
            "tags_all": listed(self.tags_all),
            "metadata": None if self.metadata is None else json.dumps(dict(self.metadata)),
            "order_by": self.order_by,
            "descending": self.descending,
            "after_id": None if cursor is None else cursor.after_id,
            "after_time": None if cursor is None else cursor.after_time,
            "limit": self.limit,
        }


def job_delete_many_check(params: JobListParams, unsafe_all: bool) -> None:
    """River's guard against deleting every job by accident: ``job_delete_many`` needs a
    filter, or ``unsafe_all`` (and then no filter). Cursors do not apply to it."""
    validate_bool("unsafe_all", unsafe_all)
    if params.cursor is not None:
        raise ValidationError("cursor", "conflict", "is not used by job_delete_many", params.cursor)
    filtered = any(getattr(params, name) is not None for name in FILTER_FIELDS)
    if unsafe_all and filtered:
        raise ValidationError("unsafe_all", "conflict", "is only meaningful without filters", unsafe_all)
    if not unsafe_all and not filtered:
        raise ValidationError(
            "params",
            "required",
            f"job_delete_many needs a filter ({', '.join(FILTER_FIELDS)}), or unsafe_all=True to delete every job",
        )


def job_update_metadata(job_id: int, output: Any) -> dict[str, Any] | None:
    """The metadata ``job_update`` merges (River's JobUpdate): ``{"output": output}``; without
    an ``output`` (``None``), inside ``work`` of job ``job_id``, the output recorded so far;
    otherwise nothing (``None``)."""
    if output is not None:
        return {"output": validate_output(output)}
    try:
        context = current_context()
    except RiverboatError:
        return None
    if context.job.id != job_id or "output" not in context.metadata_updates:
        return None
    return {"output": context.metadata_updates["output"]}
