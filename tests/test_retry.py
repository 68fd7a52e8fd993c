from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from riverboat._retry import MAX_DELAY, DefaultRetryPolicy, default_delay
from riverboat._states import JobState
from riverboat.job import AttemptError, Job

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def make_job(errors: int) -> Job:
    error = AttemptError(at=NOW, attempt=1, error="x", trace="")
    return Job(
        id=1,
        state=JobState.RUNNING,
        attempt=errors + 1,
        max_attempts=25,
        attempted_at=NOW,
        created_at=NOW,
        finalized_at=None,
        scheduled_at=NOW,
        priority=1,
        args={},
        attempted_by=[],
        errors=[error] * errors,
        kind="k",
        metadata={},
        queue="default",
        tags=[],
        unique_key=None,
        unique_states=None,
    )


def test_base_delays_are_error_count_to_the_fourth() -> None:
    assert [default_delay(n, 0).total_seconds() for n in (1, 2, 3, 4, 5)] == [1, 16, 81, 256, 625]


def test_jitter_is_ten_percent_either_way() -> None:
    assert default_delay(2, 1.0) == timedelta(seconds=16 * 1.1)
    assert default_delay(2, -1.0) == timedelta(seconds=16 * 0.9)


def test_policy_counts_earlier_errors_plus_this_one() -> None:
    policy = DefaultRetryPolicy(uniform=lambda: 0.0)
    assert policy.next_retry(make_job(0), NOW) == NOW + timedelta(seconds=1)
    assert policy.next_retry(make_job(2), NOW) == NOW + timedelta(seconds=81)


def test_huge_error_counts_cap_without_jitter() -> None:
    assert default_delay(400, 1.0) == MAX_DELAY
    assert replace(make_job(0)).errors == []


MICROSECOND = timedelta(microseconds=1)


def test_cap_is_gos_largest_duration() -> None:
    # River caps at time.Duration(1<<63 - 1) nanoseconds; Python keeps microseconds.
    assert MAX_DELAY // MICROSECOND == 9_223_372_036_854_775
    assert default_delay(310, 0.0) == MAX_DELAY
    assert default_delay(2**40, -1.0) == MAX_DELAY


def test_extreme_counts_equal_rivers_delays() -> None:
    # Nanoseconds from River v0.51.2's formula (float64 seconds, then time.Duration), in µs.
    expected = {
        (309, -1.0): 8_204_959_224_899_999,
        (300, 1.0): 8_910_000_000_000_000,
        (300, -1.0): 7_290_000_000_000_000,
        (25, 1.0): 429_687_500_000,
    }
    for (count, unit), micros in expected.items():
        assert default_delay(count, unit) // MICROSECOND == micros, (count, unit)


def test_jitter_never_carries_a_delay_past_the_cap() -> None:
    # 304^4 s is under the cap, 304^4 s + 10 % is over it: River caps after jitter.
    assert default_delay(304, 1.0) == MAX_DELAY
    assert default_delay(309, 1.0) == MAX_DELAY
    assert all(default_delay(count, 1.0) <= MAX_DELAY for count in range(290, 320))
