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
