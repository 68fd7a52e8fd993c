"""Cron schedules in River Go's standard syntax (robfig/cron v3 ``ParseStandard``), so a
periodic job declared in Go and in Python fires at the same instants (spec/11-maintenance.md#cron).

Accepted: five fields (minute hour day-of-month month day-of-week) with ``*``, ``?``,
lists, ranges, steps and English month/day names; the descriptors ``@yearly``
``@annually`` ``@monthly`` ``@weekly`` ``@daily`` ``@midnight`` ``@hourly``; ``@every
<Go duration>``; and an optional ``CRON_TZ=<zone>`` or ``TZ=<zone>`` prefix. Without a
prefix a schedule is evaluated in the time zone of the time it is asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from riverboat.errors import CronError, ValidationError

_STAR_BIT = 1 << 63
# robfig/cron gives up looking for a matching time this many years ahead.
_YEAR_SEARCH_LIMIT = 5
_SECOND = timedelta(seconds=1)
_NANOS_PER_SECOND = 1_000_000_000


@runtime_checkable
class Schedule(Protocol):
    """Anything that says when a periodic job runs next."""

    def next(self, after: datetime) -> datetime | None:
        """The first run strictly after ``after`` (aware), or ``None`` if there is none."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int]


_MINUTES = _Bounds(0, 59, {})
_HOURS = _Bounds(0, 23, {})
_DOM = _Bounds(1, 31, {})
_MONTHS = _Bounds(
    1,
    12,
    {
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
)
_DOW = _Bounds(0, 6, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])})


def _bits(low: int, high: int, step: int) -> int:
    return sum(1 << i for i in range(low, high + 1, step))


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high, 1) | _STAR_BIT


@dataclass(frozen=True)
class CronSchedule:
    """A five-field schedule (seconds are always 0) as bit sets, River/robfig style."""

    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    zone: tzinfo | None = None

    def next(self, after: datetime) -> datetime | None:
        if after.tzinfo is None:
            raise ValidationError("after", "format", "must be timezone-aware", after)
        return _Walker(self, self.zone or after.tzinfo).next(after)


@dataclass(frozen=True)
class EverySchedule:
    """``@every <duration>``: fixed delay, whole seconds, at least one second."""

    delay: timedelta

    def next(self, after: datetime) -> datetime:
        return after + self.delay - timedelta(microseconds=after.microsecond)


@dataclass(frozen=True)
class IntervalSchedule:
    """A fixed interval from the previous run (River's ``PeriodicInterval``)."""

    interval: timedelta

    def __post_init__(self) -> None:
        if not isinstance(self.interval, timedelta) or self.interval <= timedelta(0):
            raise CronError("an interval must be a positive timedelta", self.interval)

    def next(self, after: datetime) -> datetime:
        return after + self.interval


class _Walker:
    """robfig/cron's SpecSchedule.Next: advance field by field in wall time of ``zone``."""

    def __init__(self, spec: CronSchedule, zone: tzinfo) -> None:
        self.spec = spec
        self.zone = zone

    def wall(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def from_wall(
        self, year: int, month: int, day: int, *, hour: int = 0, minute: int = 0, second: int = 0
    ) -> datetime:
        # Go's time.Date: normalise overflowing fields, then pick the offset in force.
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        naive = datetime(year, month, 1) + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)
        guess = naive.replace(tzinfo=UTC).astimezone(self.zone).utcoffset() or timedelta(0)
        utc = naive - guess
        actual = utc.replace(tzinfo=UTC).astimezone(self.zone).utcoffset() or timedelta(0)
        return (naive - actual).replace(tzinfo=UTC)

    def add_date(self, t: datetime, months: int = 0, days: int = 0) -> datetime:
        w = self.wall(t)
        shifted = self.from_wall(w.year, w.month + months, w.day + days, hour=w.hour, minute=w.minute, second=w.second)
        return shifted + timedelta(microseconds=w.microsecond)

    def day_matches(self, w: datetime) -> bool:
        dom_match = bool((1 << w.day) & self.spec.dom)
        dow_match = bool((1 << (w.isoweekday() % 7)) & self.spec.dow)
        if self.spec.dom & _STAR_BIT or self.spec.dow & _STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, after: datetime) -> datetime | None:
        spec = self.spec
        t = after.astimezone(UTC) + _SECOND - timedelta(microseconds=after.microsecond)
        added = False
        year_limit = self.wall(t).year + _YEAR_SEARCH_LIMIT
        while True:
            w = self.wall(t)
            if w.year > year_limit:
                return None
            wrapped = False
            while not (1 << w.month) & spec.month:
                if not added:
                    added = True
                    t = self.from_wall(w.year, w.month, 1)
                t = self.add_date(t, months=1)
                w = self.wall(t)
                if w.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self.day_matches(w):
                if not added:
                    added = True
                    t = self.from_wall(w.year, w.month, w.day)
                t = self.add_date(t, days=1)
                w = self.wall(t)
                if w.hour != 0:
                    # A DST change moved midnight; land back on the intended day.
                    t += timedelta(hours=24 - w.hour) if w.hour > 12 else -timedelta(hours=w.hour)
                    w = self.wall(t)
                if w.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << w.hour) & spec.hour:
                if not added:
                    added = True
                    t = self.from_wall(w.year, w.month, w.day, hour=w.hour)
                t += timedelta(hours=1)
                w = self.wall(t)
                if w.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << w.minute) & spec.minute:
                if not added:
                    added = True
                    t = t.replace(second=0, microsecond=0)
                t += timedelta(minutes=1)
                w = self.wall(t)
                if w.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            if w.second != 0:
                # The seconds field is always 0 in the standard syntax.
                if not added:
                    added = True
                    t = t.replace(microsecond=0)
                t += timedelta(seconds=60 - w.second)
                continue
            return t.astimezone(after.tzinfo)


_DESCRIPTORS: dict[str, tuple[int, int, int, int, int]] = {
    "@yearly": (1, 1, 1 << 1, 1 << 1, _all(_DOW)),
    "@annually": (1, 1, 1 << 1, 1 << 1, _all(_DOW)),
    "@monthly": (1, 1, 1 << 1, _all(_MONTHS), _all(_DOW)),
    "@weekly": (1, 1, _all(_DOM), _all(_MONTHS), 1 << 0),
    "@daily": (1, 1, _all(_DOM), _all(_MONTHS), _all(_DOW)),
    "@midnight": (1, 1, _all(_DOM), _all(_MONTHS), _all(_DOW)),
    "@hourly": (1, _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW)),
}

_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1


def _parse_int(expr: str, names: dict[str, int], whole: str) -> int:
    if expr.lower() in names:
        return names[expr.lower()]
    if not _INT.fullmatch(expr) or abs(int(expr)) > _INT64_MAX:
        raise CronError(f"failed to parse int from {expr!r}", whole)
    number = int(expr)
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {expr}", whole)
    return number


def _parse_range(expr: str, bounds: _Bounds, whole: str) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = bounds.low, bounds.high, _STAR_BIT
    else:
        start = _parse_int(low_and_high[0], bounds.names, whole)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int(low_and_high[1], bounds.names, whole)
        else:
            raise CronError(f"too many hyphens: {expr}", whole)
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _parse_int(range_and_step[1], {}, whole)
        if len(low_and_high) == 1:
            end = bounds.high
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}", whole)
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}", whole)
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}", whole)
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}", whole)
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}", whole)
    return _bits(start, end, step) | extra


def _parse_field(field: str, bounds: _Bounds, whole: str) -> int:
    bits = 0
    for expr in (part for part in field.split(",") if part):
        bits |= _parse_range(expr, bounds, whole)
    return bits


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": _NANOS_PER_SECOND,
    "m": 60 * _NANOS_PER_SECOND,
    "h": 3600 * _NANOS_PER_SECOND,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_go_duration(text: str) -> int:
    """Parse a Go ``time.ParseDuration`` string into nanoseconds."""
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise CronError(f"invalid duration {text!r}", text)
    total = Fraction(0)
    while rest:
        match = _DURATION_PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise CronError(f"invalid duration {text!r}", text)
        if not unit:
            raise CronError(f"missing unit in duration {text!r}", text)
        if unit not in _DURATION_UNITS:
            raise CronError(f"unknown unit {unit!r} in duration {text!r}", text)
        scale = _DURATION_UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += Fraction(int(frac), 10 ** len(frac)) * scale
        rest = rest[match.end() :]
    nanos = int(total)
    if nanos > _INT64_MAX:
        raise CronError(f"invalid duration {text!r}", text)
    return -nanos if negative else nanos


def every(nanos: int) -> EverySchedule:
    """robfig's ``Every``: below one second becomes one second; fractions of a second are dropped."""
    nanos = max(nanos, _NANOS_PER_SECOND)
    return EverySchedule(timedelta(seconds=nanos // _NANOS_PER_SECOND))


def parse_cron(spec: str) -> CronSchedule | EverySchedule:
    """Parse ``spec`` as River Go does (robfig/cron ``ParseStandard``); ``CronError`` if invalid."""
    if not isinstance(spec, str) or not spec:
        raise CronError("empty spec string", spec)
    whole = spec
    zone: tzinfo | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        if space < 0:
            raise CronError("a time zone prefix must be followed by a schedule", whole)
        name = spec[spec.index("=") + 1 : space]
        try:
            zone = UTC if name == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CronError(f"provided bad location {name}", whole) from exc
        spec = spec[space:].strip()
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return CronSchedule(*_DESCRIPTORS[spec], zone=zone)
        if spec.startswith("@every "):
            return every(parse_go_duration(spec[len("@every ") :]))
        raise CronError(f"unrecognized descriptor: {spec}", whole)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}", whole)
    return CronSchedule(
        minute=_parse_field(fields[0], _MINUTES, whole),
        hour=_parse_field(fields[1], _HOURS, whole),
        dom=_parse_field(fields[2], _DOM, whole),
        month=_parse_field(fields[3], _MONTHS, whole),
        dow=_parse_field(fields[4], _DOW, whole),
        zone=zone,
    )


def to_schedule(schedule: str | timedelta | Schedule) -> Schedule:
    """A cron string, an interval or a schedule object, as a schedule (clear error if invalid)."""
    if isinstance(schedule, str):
        return parse_cron(schedule)
    if isinstance(schedule, timedelta):
        return IntervalSchedule(schedule)
    if isinstance(schedule, Schedule):
        return schedule
    raise CronError("must be a cron string, a timedelta or an object with next(after)", schedule)
