"""The row an insert must write, from the params a case sent (spec/03-insert.md, spec/04-unique.md).

Every column is judged: where a case leaves an option out, the spec's default for a fresh insert
applies, so an adapter cannot pass by writing something a case happened not to look at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riverboat._states import DEFAULT_UNIQUE_STATES
from riverboat._unique import UniqueOpts, unique_key
from riverboat.args import RawArgs, encode_args
from riverboat.errors import ValidationError

from ._values import parse_time, same_json

QUEUE_DEFAULT = "default"
PRIORITY_DEFAULT = 1
MAX_ATTEMPTS_DEFAULT = 25
#: How far the client's or the database's clock may be from the runner's (all run on one machine).
CLOCK_SLACK = timedelta(seconds=5)
#: PostgreSQL keeps microseconds; a finer time is rounded.
TIME_PRECISION = timedelta(microseconds=1)


@dataclass(frozen=True)
class Window:
    """When an insert's clock may have been read: from the request (or the begin of its transaction) to the answer."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start - CLOCK_SLACK <= moment <= self.end + CLOCK_SLACK

    def moments(self, step: timedelta) -> list[datetime]:
        """Instants across the window no further apart than ``step``: one in every period it touches."""
        moment, last = self.start - CLOCK_SLACK, self.end + CLOCK_SLACK
        found = []
        while moment < last:
            found.append(moment)
            moment += step
        return [*found, last]


def given(opts: dict[str, Any], name: str, default: Any = None) -> Any:
    """An option's value, or ``default`` when it is absent or null (ADAPTER.md#insert-params: null is absent)."""
    value = opts.get(name)
    return default if value is None else value


def protocol_unique_opts(doc: dict[str, Any]) -> UniqueOpts:
    """The protocol's unique options as riverboat's UniqueOpts; ValidationError if the spec forbids them."""
    by_args = given(doc, "by_args", False)
    period = given(doc, "by_period_seconds")
    by_state = given(doc, "by_state")
    return UniqueOpts(
        by_args=by_args if isinstance(by_args, bool) else tuple(by_args),
        by_period=None if period is None else timedelta(seconds=period),
        by_queue=bool(given(doc, "by_queue")),
        by_state=None if by_state is None else tuple(by_state),
        exclude_kind=bool(given(doc, "exclude_kind")),
    )


def sent_args(params: dict[str, Any]) -> Any:
    """The JSON value of the args a job was sent with."""
    if given(params, "args_json") is not None:
        return json.loads(params["args_json"])
    return params.get("args")


def encoded_args(params: dict[str, Any]) -> bytes:
    """The encoded args a client hashes for these params (ADAPTER.md#insert-params): the text the request
    spelled (``args_json``, or the runner's own text of ``args``) compacted as River Go compacts a
    ``json.Marshaler``'s bytes (spec/03-insert.md#json-text)."""
    text = given(params, "args_json")
    if text is None:
        text = json.dumps(params["args"], ensure_ascii=False)
    return encode_args(RawArgs(params["kind"], text))


def expected_state(opts: dict[str, Any]) -> str:
    """spec/03-insert.md#state."""
    if given(opts, "pending"):
        return "pending"
    if given(opts, "scheduled_at") is not None:
        return "scheduled"
    return "available"


def insert_problems(params: dict[str, Any], row: dict[str, Any], window: Window) -> list[str]:
    """Where a freshly inserted row differs from what the spec says these params write."""
    opts: dict[str, Any] = given(params, "opts", {})
    args = sent_args(params)
    expected: dict[str, Any] = {
        "kind": params["kind"],
        "args": args,
        "queue": given(opts, "queue", QUEUE_DEFAULT),
        "priority": given(opts, "priority", PRIORITY_DEFAULT),
        "max_attempts": given(opts, "max_attempts", MAX_ATTEMPTS_DEFAULT),
        "metadata": given(opts, "metadata", {}),
        "tags": given(opts, "tags", []),
        "state": expected_state(opts),
        "attempt": 0,
        "attempted_at": None,
        "attempted_by": [],
        "errors": [],
        "finalized_at": None,
    }
    where = f"row {row['id']}"
    problems = [
        f"{where}.{column} is {row[column]!r:.200}, the spec requires {value!r:.200}"
        for column, value in expected.items()
        if not same_json(row[column], value)
    ]
    created_at = parse_time(row["created_at"])
    if created_at is None or not window.holds(created_at):
        problems.append(f"{where}.created_at is {row['created_at']}, not the insert's time ({_describe(window)})")
    scheduled_at = parse_time(row["scheduled_at"])
    wanted = given(opts, "scheduled_at")
    if wanted is not None:
        wanted_at = parse_time(wanted)
        if scheduled_at is None or wanted_at is None or abs(scheduled_at - wanted_at) > TIME_PRECISION:
            problems.append(f"{where}.scheduled_at is {row['scheduled_at']}, the spec requires {wanted}")
    elif scheduled_at is None or not window.holds(scheduled_at):
        problems.append(f"{where}.scheduled_at is {row['scheduled_at']}, not the insert's time ({_describe(window)})")
    problems.extend(_unique_problems(params, opts, row, window))
    return problems


def _unique_problems(params: dict[str, Any], opts: dict[str, Any], row: dict[str, Any], window: Window) -> list[str]:
    where = f"row {row['id']}"
    doc = given(opts, "unique_opts")
    try:
        unique = None if doc is None else protocol_unique_opts(doc)
        encoded = encoded_args(params)
    except ValidationError as exc:
        return [f"{where} was written, but the spec rejects its params: {exc}"]
    if unique is None or not unique.is_unique:
        return [
            f"{where}.{column} is {row[column]!r}, the spec requires null (the job is not unique)"
            for column in ("unique_key", "unique_states")
            if row[column] is not None
        ]
    problems = []
    states = sorted(map(str, unique.by_state or DEFAULT_UNIQUE_STATES))
    if sorted(row["unique_states"] or []) != states:
        problems.append(f"{where}.unique_states is {row['unique_states']!r}, the spec requires {states}")
    scheduled_at = parse_time(given(opts, "scheduled_at"))
    moments = window.moments(unique.by_period) if unique.by_period and scheduled_at is None else [window.start]
    keys = {
        unique_key(
            kind=params["kind"],
            encoded_args=encoded,
            queue=given(opts, "queue", QUEUE_DEFAULT),
            opts=unique,
            scheduled_at=scheduled_at,
            now=moment,
        ).hex()
        for moment in moments
    }
    if row["unique_key"] not in keys:
        wanted = next(iter(keys)) if len(keys) == 1 else f"one of {sorted(keys)}"
        problems.append(f"{where}.unique_key is {row['unique_key']}, the spec requires {wanted}")
    return problems


def _describe(window: Window) -> str:
    return f"between {window.start.isoformat()} and {window.end.isoformat()}, give or take {CLOCK_SLACK.seconds} s"
