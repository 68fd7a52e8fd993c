"""Times as the protocol writes and reads them (spec/02-lifecycle.md#times): the one
formatter and the one parser every module uses."""

from __future__ import annotations

from datetime import UTC, datetime

#: Go's zero time; stands in for a time another writer left unreadable.
UNKNOWN_TIME = datetime(1, 1, 1, tzinfo=UTC)


def format_time(value: datetime) -> str:
    """``value`` in UTC as Go's ``time.Time`` JSON writes it (RFC 3339, trailing fraction
    zeros trimmed, ``Z``), e.g. ``2026-01-02T03:04:05.6789Z``. Go reads this back exactly."""
    utc = value.astimezone(UTC)
    # Not strftime: its %Y drops the zero padding of years before 1000 on glibc.
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time (any offset, up to nanoseconds) in UTC, or ``None`` if unreadable.
    A time without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
