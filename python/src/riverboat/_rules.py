"""The protocol's rules for single values (spec/03-insert.md#parameters and the client
settings of spec/06-fetch.md), one function each, each raising ``ValidationError`` with
the field, the rule's code and the rule in words. Every module that checks one of these
values calls the function here."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from riverboat._defaults import OUTPUT_MAX_BYTES
from riverboat._gojson import encode
from riverboat.errors import ValidationError

QUEUE_NAME_MAX_LENGTH = 64
# River's queue rule, ^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$, written so that no input makes
# it backtrack: the same names (alphanumeric runs joined by single _, - or |), linear time.
QUEUE_NAME_PATTERN = re.compile(r"[a-z0-9]+(?:[_|\-][a-z0-9]+)*")
ALL_QUEUES = "*"
KIND_MAX_LENGTH = 127
#: River's worker kind rule: a word character, then at least one more allowed character.
WORKER_KIND_PATTERN = re.compile(r"[\w][\w\-\[\]<>/.·:+]+", re.ASCII)
TAG_MAX_LENGTH = 255
# River's tag rule, with Go's ASCII-only \w.
TAG_PATTERN = re.compile(r"\w[\w\-]+\w", re.ASCII)
RESERVED_METADATA_PREFIX = "river:"
MAX_ATTEMPTS_LIMIT = 32767  # the column is a smallint
#: ``attempt`` is a smallint too: a job at this attempt can never be fetched again (the fetch's
#: ``attempt + 1`` fails, and with it the fetch of its whole queue, in River Go as in riverboat).
ATTEMPT_LIMIT = 32767
PRIORITY_RANGE = range(1, 5)
CLIENT_ID_MAX_LENGTH = 100


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_queue_name(name: str, *, field: str = "queue", allow_all: bool = False) -> str:
    """River's queue name rule; ``'*'`` (every queue) where ``allow_all``."""
    if allow_all and name == ALL_QUEUES:
        return name
    if not isinstance(name, str):
        raise ValidationError(field, "type", "must be a string", name)
    if not 0 < len(name) <= QUEUE_NAME_MAX_LENGTH:
        raise ValidationError(field, "length", f"must be 1 to {QUEUE_NAME_MAX_LENGTH} characters", name)
    if not QUEUE_NAME_PATTERN.fullmatch(name):
        what = "'*' or " if allow_all else ""
        raise ValidationError(
            field, "pattern", f"must be {what}lowercase letters and digits with single _, - or | between them", name
        )
    return name


def validate_priority(priority: int, *, field: str = "priority") -> int:
    if not _is_int(priority) or priority not in PRIORITY_RANGE:
        raise ValidationError(field, "range", "must be an integer from 1 (highest) to 4", priority)
    return priority


def validate_max_attempts(max_attempts: int) -> int:
    if not _is_int(max_attempts) or not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise ValidationError(
            "max_attempts", "range", f"must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}", max_attempts
        )
    return max_attempts


def validate_kind(kind: str, *, field: str = "kind") -> str:
    """An inserted kind: 1 to 127 characters (the column's rule)."""
    if not isinstance(kind, str):
        raise ValidationError(field, "type", "must be a string", kind)
    if not 1 <= len(kind) <= KIND_MAX_LENGTH:
        raise ValidationError(field, "length", f"must be 1 to {KIND_MAX_LENGTH} characters", kind)
    return kind


def validate_worker_kind(kind: str) -> str:
    """A worked kind: also River's worker kind pattern (checked when a worker registers)."""
    validate_kind(kind, field="worker.kind")
    if not WORKER_KIND_PATTERN.fullmatch(kind):
        raise ValidationError(
            "worker.kind", "pattern", f"must match {WORKER_KIND_PATTERN.pattern} (River's worker kind rule)", kind
        )
    return kind


def validate_tags(tags: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tags, str | bytes) or not isinstance(tags, Sequence):
        raise ValidationError("tags", "type", "must be a list of strings", tags)
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError("tags", "type", "each tag must be a string", tag)
        if not 3 <= len(tag) <= TAG_MAX_LENGTH:
            raise ValidationError("tags", "length", f"each tag must be 3 to {TAG_MAX_LENGTH} characters", tag)
        if not TAG_PATTERN.fullmatch(tag):
            raise ValidationError(
                "tags", "pattern", "each tag must be ASCII letters, digits or _, with - allowed inside (no commas)", tag
            )
    return tuple(tags)


def validate_aware_time(field: str, value: datetime) -> datetime:
    """A timezone-aware datetime, returned in UTC."""
    if not isinstance(value, datetime):
        raise ValidationError(field, "type", "must be a datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "format", "must be timezone-aware (a naive datetime is ambiguous)", value)
    return value.astimezone(UTC)


def validate_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Insert metadata: a JSON object whose top-level keys don't use River's reserved prefix."""
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata", "type", "must be a JSON object (a mapping)", metadata)
    for key in metadata:
        if not isinstance(key, str):
            raise ValidationError("metadata", "type", "keys must be strings", key)
        if key.startswith(RESERVED_METADATA_PREFIX):
            raise ValidationError(
                "metadata", "reserved", f"keys beginning {RESERVED_METADATA_PREFIX!r} are reserved for River", key
            )
    return dict(metadata)


# Each escape of JSON text, matched left to right so that an escaped backslash followed by
# "u0000" is not mistaken for the escape of U+0000.
_JSON_ESCAPE = re.compile(rb"\\(?:u0000|.)", re.DOTALL)
_NUL_ESCAPE = b"\\u0000"


def validate_storable_json(field: str, encoded: bytes) -> bytes:
    """Encoded JSON (args or metadata) that ``jsonb`` can store: PostgreSQL refuses U+0000
    with SQLSTATE 22P05, which would abort the caller's transaction (spec/03-insert.md#nul).
    Valid JSON text can hold U+0000 only as the escape ``\\u0000``."""
    # find, not ``in``: bytes.__contains__ first tries its operand as an integer, which
    # costs more than the search itself.
    if encoded.find(_NUL_ESCAPE) >= 0 and any(m.group() == _NUL_ESCAPE for m in _JSON_ESCAPE.finditer(encoded)):
        raise ValidationError(field, "json", "must not hold U+0000 in any key or string (jsonb cannot store it)")
    return encoded


def validate_bool(field: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "type", "must be a boolean", value)
    return value


def validate_job_id(job_id: int) -> int:
    if not _is_int(job_id) or job_id < 1:
        raise ValidationError("id", "range", "must be a positive integer", job_id)
    return job_id


def validate_client_id(client_id: str) -> str:
    """A client's ID (River's limit; also the leader ID, whose column allows < 128)."""
    if not isinstance(client_id, str):
        raise ValidationError("client_id", "type", "must be a string", client_id)
    if not 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH:
        raise ValidationError("client_id", "length", f"must be 1 to {CLIENT_ID_MAX_LENGTH} characters", client_id)
    return client_id


def validate_count(field: str, value: int, *, low: int = 1, high: int | None = None) -> int:
    """An integer from ``low`` to ``high`` (no upper bound when ``None``)."""
    if not _is_int(value):
        raise ValidationError(field, "type", "must be an integer", value)
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"from {low} to {high}"
        raise ValidationError(field, "range", f"must be {bound}", value)
    return value


def validate_duration(
    field: str, value: timedelta, *, minimum: timedelta = timedelta(0), inclusive: bool = False
) -> timedelta:
    """A timedelta above ``minimum`` (or at least it, with ``inclusive``)."""
    if not isinstance(value, timedelta):
        raise ValidationError(field, "type", "must be a timedelta", value)
    if value < minimum or (value == minimum and not inclusive):
        bound = "at least" if inclusive else "longer than"
        raise ValidationError(field, "range", f"must be {bound} {minimum}", value)
    return value


def validate_retention(field: str, value: timedelta | int) -> timedelta | int:
    """How long finalized jobs are kept: a timedelta >= 0, or -1 to keep them forever."""
    if value == -1 and not isinstance(value, bool):
        return value
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(field, "range", "must be a timedelta >= 0 or -1 (keep forever)", value)
    return value


def json_value(field: str, value: object) -> Any:
    """``value`` as the plain JSON value River stores for it (a dataclass becomes an object,
    as a Go struct does); ``ValidationError`` ("json") if it has no JSON encoding."""
    return json.loads(_encoded(field, value))


def validate_output(value: object) -> Any:
    """A job's output (River's RecordOutput and JobUpdate): JSON of at most 32 MB, returned
    as the plain JSON value to store in ``metadata.output``."""
    encoded = _encoded("output", value)
    if len(encoded) > OUTPUT_MAX_BYTES:
        raise ValidationError("output", "length", f"must encode to at most {OUTPUT_MAX_BYTES} bytes of JSON")
    return json.loads(encoded)


def _encoded(field: str, value: object) -> bytes:
    try:
        return encode(value, field)
    except RecursionError:
        raise ValidationError(field, "json", "is nested too deeply, or contains itself") from None
