"""Cron schedules in River Go's standard syntax (spec/11-maintenance.md#cron)."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest

from riverboat._cron import (
    CronError,
    CronSchedule,
    EverySchedule,
    IntervalSchedule,
    parse_cron,
    parse_go_duration,
    to_schedule,
)
from tests.helpers import go_binary


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("* * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"),
        ("* * * * *", "2026-01-01T00:00:59.9Z", "2026-01-01T00:01:00Z"),
        ("*/15 * * * *", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"),
        ("5 4 * * sun", "2026-01-01T00:00:00Z", "2026-01-04T04:05:00Z"),
        ("0 0 1,15 * 3", "2026-01-02T00:00:00Z", "2026-01-07T00:00:00Z"),
        ("0 0 31 2 *", "2026-01-01T00:00:00Z", None),
        ("0 12 29 feb *", "2026-01-01T00:00:00Z", "2028-02-29T12:00:00Z"),
        ("@yearly", "2026-05-05T10:00:00Z", "2027-01-01T00:00:00Z"),
        ("@annually", "2026-05-05T10:00:00Z", "2027-01-01T00:00:00Z"),
        ("@monthly", "2026-05-05T10:00:00Z", "2026-06-01T00:00:00Z"),
        ("@weekly", "2026-05-05T10:00:00Z", "2026-05-10T00:00:00Z"),
        ("@daily", "2026-05-05T10:00:00Z", "2026-05-06T00:00:00Z"),
        ("@midnight", "2026-05-05T10:00:00Z", "2026-05-06T00:00:00Z"),
        ("@hourly", "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z"),
        ("@every 1h30m", "2026-05-05T10:00:00.5Z", "2026-05-05T11:30:00Z"),
        ("@every 1.5s", "2026-01-01T00:00:00.25Z", "2026-01-01T00:00:01Z"),
        ("@every 10ms", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
        ("@every -5m", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
        ("CRON_TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-09T06:30:00Z"),
        ("TZ=Asia/Tokyo 0 9 * * *", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        ("TZ=UTC 0 9 * * *", "2026-01-01T10:00:00+02:00", "2026-01-01T11:00:00+02:00"),
        ("0 9 * * *", "2026-01-01T10:00:00+02:00", "2026-01-02T09:00:00+02:00"),
    ],
)
def test_next_occurrence(spec, after, expected):
    result = parse_cron(spec).next(at(after))
    assert result == (None if expected is None else at(expected))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec"),
        ("* * * *", "expected exactly 5 fields, found 4"),
        ("* * * * * *", "expected exactly 5 fields, found 6"),
        ("60 * * * *", "above maximum"),
        ("* 24 * * *", "above maximum"),
        ("* * 0 * *", "below minimum"),
        ("5-1 * * * *", "beyond end of range"),
        ("*/0 * * * *", "step of range should be a positive number"),
        ("1-2-3 * * * *", "too many hyphens"),
        ("1/2/3 * * * *", "too many slashes"),
        ("x * * * *", "failed to parse int"),
        ("* * * foo *", "failed to parse int"),
        ("@fortnightly", "unrecognized descriptor"),
        ("@every", "unrecognized descriptor"),
        ("@every 5", "missing unit"),
        ("@every 5 minutes", "unknown unit"),
        ("CRON_TZ=Mars/Olympus * * * * *", "bad location"),
        ("TZ=UTC", "must be followed by a schedule"),
    ],
)
def test_invalid_expressions_raise_clear_errors(spec, message):
    with pytest.raises(CronError, match=message) as info:
        parse_cron(spec)
    assert info.value.field == "schedule"


def test_every_rounds_to_whole_seconds():
    assert parse_cron("@every 2.9s") == EverySchedule(timedelta(seconds=2))
    assert parse_cron("@every 999ms") == EverySchedule(timedelta(seconds=1))
    assert parse_cron("@every 1h1m1s1ns") == EverySchedule(timedelta(seconds=3661))


def test_go_durations():
    assert parse_go_duration("0") == 0
    assert parse_go_duration("1.5h") == 5400 * 10**9
    assert parse_go_duration("-1m") == -60 * 10**9
    assert parse_go_duration("1us") == parse_go_duration("1µs") == 1000
    for bad in ["", "1", ".s", "1x", "-"]:
        with pytest.raises(CronError):
            parse_go_duration(bad)


def test_to_schedule_accepts_every_form():
    assert isinstance(to_schedule("* * * * *"), CronSchedule)
    assert to_schedule(timedelta(minutes=5)) == IntervalSchedule(timedelta(minutes=5))
    custom = IntervalSchedule(timedelta(seconds=1))
    assert to_schedule(custom) is custom
    assert to_schedule(timedelta(minutes=5)).next(at("2026-01-01T00:00:00Z")) == at("2026-01-01T00:05:00Z")
    with pytest.raises(CronError, match="positive"):
        to_schedule(timedelta(0))
    with pytest.raises(CronError, match="cron string"):
        to_schedule(42)  # type: ignore[arg-type]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cron("* * * * *").next(datetime(2026, 1, 1))


_SPECS = [
    "* * * * *",
    "0 * * * *",
    "*/7 * * * *",
    "5-10/2 3,4 * * *",
    "0 0 * * 1-5",
    "0 0 13 * fri",
    "0 0 * * 0,6",
    "30 2 * * *",
    "0 3 * mar,nov sun",
    "15 1 1 1 *",
    "0 0 30 * *",
    "59 23 31 12 *",
    "? ? ? ? ?",
    "7 */5 * * *",
    "@yearly",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
    "@every 1s",
    "@every 90s",
    "@every 1.999s",
    "@every 1h0.5m",
    "@every 250ms",
    "CRON_TZ=America/New_York 30 2 * * *",
    "CRON_TZ=America/New_York 0 1 * * *",
    "TZ=Europe/London 30 1 * * *",
    "TZ=Europe/Berlin 0 0 * * *",
    "TZ=Australia/Lord_Howe 15 2 * * *",
    "TZ=Asia/Kolkata */20 * * * *",
    "CRON_TZ=America/Sao_Paulo @daily",
    "70 * * * *",
    "* * * * * *",
    "@every 3 s",
    "*/0 * * * *",
    "5-1 * * * *",
    "1,,2 * * * *",
    "1-2-3 * * * *",
    "* * * JAN-Mar *",
    "0 0 * * */2",
    "0 0 1-7 * 1",
    "@every",
    "@every 1d",
    "TZ=Mars/Olympus 0 0 * * *",
    "CRON_TZ=UTC @hourly",
    "+5 * * * *",
]
_TIMES = [
    "2026-01-01T00:00:00Z",
    "2026-03-08T06:59:59.5Z",
    "2026-03-29T00:30:00Z",
    "2026-10-25T00:59:00Z",
    "2026-11-01T05:30:00Z",
    "2026-02-28T23:59:59Z",
    "2026-06-15T12:34:56.789+05:30",
    "2027-12-31T23:59:00-08:00",
]


@pytest.mark.go
def test_matches_robfig_cron_used_by_river_go():
    cases = [(spec, when) for spec in _SPECS for when in _TIMES]
    stdin = "".join(f"{spec}\t{when.replace('Z', '+00:00').replace('+00:00', 'Z')}\n" for spec, when in cases)
    out = subprocess.run(
        [str(go_binary("croncheck"))],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout.splitlines()
    assert len(out) == len(cases)
    mismatches = []
    for (spec, when), go_answer in zip(cases, out, strict=True):
        try:
            ours = parse_cron(spec).next(at(when))
            mine = "zero" if ours is None else ours
        except CronError:
            mine = "error"
        theirs: object = go_answer
        if go_answer.startswith("error"):
            theirs = "error"
        elif go_answer != "zero":
            theirs = at(go_answer)
        if mine != theirs:
            mismatches.append((spec, when, mine, go_answer))
    assert mismatches == []


def test_fixed_offset_zone_is_kept_in_result():
    after = datetime(2026, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=-3)))
    result = parse_cron("@hourly").next(after)
    assert result is not None
    assert result.utcoffset() == timedelta(hours=-3)
    assert result.astimezone(UTC) == datetime(2026, 1, 1, 14, 0, tzinfo=UTC)
