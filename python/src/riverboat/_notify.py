"""Notification channels and payloads (spec/09-notifications.md), as pure functions.

Channels are ``<schema>.<topic>``. Payloads are JSON objects; they are always parsed, never
compared as strings, because River Go and SQL's ``json_build_object`` space them differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Topic(StrEnum):
    INSERT = "river_insert"
    CONTROL = "river_control"
    LEADERSHIP = "river_leadership"


ALL_QUEUES = "*"


def channel(schema: str, topic: Topic) -> str:
    """The LISTEN/NOTIFY channel of ``topic`` in ``schema``."""
    return f"{schema}.{topic.value}"


def topic_of(channel_name: str) -> Topic | None:
    """The topic a channel carries, or None for a channel that is not River's."""
    _, _, name = channel_name.rpartition(".")
    try:
        return Topic(name)
    except ValueError:
        return None


def decode(payload: str) -> dict[str, Any] | None:
    """The payload as a JSON object, or None when it is not one (such payloads are ignored)."""
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class InsertNotice:
    queue: str


@dataclass(frozen=True)
class CancelNotice:
    job_id: int
    queue: str


@dataclass(frozen=True)
class PauseNotice:
    """Pause (``paused=True``) or resume; ``queue`` may be ``*`` for every queue."""

    queue: str
    paused: bool

    def applies_to(self, queue: str) -> bool:
        return self.queue in (queue, ALL_QUEUES)


def parse_insert(payload: str) -> InsertNotice | None:
    value = decode(payload)
    if value is None or not isinstance(value.get("queue"), str):
        return None
    return InsertNotice(value["queue"])


def parse_control(payload: str) -> CancelNotice | PauseNotice | None:
    """A control payload the worker acts on; unknown actions and bad shapes give None."""
    value = decode(payload)
    if value is None:
        return None
    action, queue = value.get("action"), value.get("queue")
    if not isinstance(queue, str):
        return None
    if action == "cancel":
        job_id = value.get("job_id")
        if isinstance(job_id, bool) or not isinstance(job_id, int):
            return None
        return CancelNotice(job_id, queue)
    if action in ("pause", "resume"):
        return PauseNotice(queue, action == "pause")
    return None


def insert_payload(queue: str) -> str:
    return json.dumps({"queue": queue})


def cancel_payload(job_id: int, queue: str) -> str:
    return json.dumps({"action": "cancel", "job_id": job_id, "queue": queue})


def pause_payload(queue: str, *, paused: bool) -> str:
    return json.dumps({"action": "pause" if paused else "resume", "queue": queue})
