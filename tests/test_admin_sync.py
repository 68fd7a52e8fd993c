# Generated from test_admin_async.py by scripts/generate_sync.py. Do not edit.
"""Admin operations (spec/12-queues-and-admin.md) against a real database. Written once for
``riverboat._async.admin``; ``test_admin_sync.py`` runs the same tests against the generated
``riverboat._sync.admin``. River Go interop is in test_admin_interop.py."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat._sync import admin
from riverboat.admin import JobListCursor, JobListParams
from riverboat.errors import (
    JobNotFoundError,
    JobRunningError,
    QueueNotFoundError,
    UniqueConflictError,
    ValidationError,
)
from tests import maintenance_support
from tests.db_support_sync import insert_job, insert_queue, job_row, listening
from tests.helpers import wait_until

# Fixtures shared by the leadership, maintenance and admin tests.
sconn = maintenance_support.sconn
river_url = maintenance_support.river_url

KEY = hashlib.sha256(b"&kind=test_kind&args={}").digest()


def test_job_get_and_not_found(sconn: psycopg.Connection[Any]) -> None:
    job_id = insert_job(sconn, kind="k1", args={"a": 1})
    job = admin.job_get(sconn, None, job_id)
    assert (job.id, job.kind, job.args) == (job_id, "k1", {"a": 1})
    with pytest.raises(JobNotFoundError, match="not found"):
        admin.job_get(sconn, None, 999_999)
    with pytest.raises(ValidationError, match="id"):
        admin.job_get(sconn, None, 0)


def test_job_list_filters(sconn: psycopg.Connection[Any]) -> None:
    a = insert_job(sconn, kind="alpha", queue="q1", priority=1, tags=["red", "big"], metadata={"team": "x"})
    b = insert_job(sconn, kind="beta", queue="q2", priority=2, tags=["red"], metadata={"team": "y", "n": 1})
    c = insert_job(sconn, kind="beta", queue="q1", priority=3, state="completed", tags=["blue"])

    def ids(**filters: Any) -> list[int]:
        return [j.id for j in (admin.job_list(sconn, None, JobListParams(**filters))).jobs]

    assert ids() == [a, b, c]
    assert ids(ids=[a, c]) == [a, c]
    assert ids(kinds=["beta"]) == [b, c]
    assert ids(queues=["q1"]) == [a, c]
    assert ids(states=["completed"]) == [c]
    assert ids(priorities=[1, 2]) == [a, b]
    assert ids(tags_any=["big", "blue"]) == [a, c]
    assert ids(tags_all=["red", "big"]) == [a]
    assert ids(metadata={"team": "y"}) == [b]
    assert ids(kinds=["beta"], queues=["q1"]) == [c]
    assert ids(descending=True) == [c, b, a]


def test_job_list_orders_and_pages_with_a_cursor(sconn: psycopg.Connection[Any]) -> None:
    jobs = []
    for day in [3, 1, 2, 5, 4]:
        jobs.append(insert_job(sconn, state="scheduled", scheduled_at=f"2030-01-0{day}T00:00:00Z"))
    by_time = [jobs[1], jobs[2], jobs[0], jobs[4], jobs[3]]
    seen: list[int] = []
    params = JobListParams(order_by="scheduled_at", limit=2)
    while True:
        page = admin.job_list(sconn, None, params)
        seen.extend(j.id for j in page.jobs)
        if page.next_cursor is None:
            break
        params = JobListParams(order_by="scheduled_at", limit=2, cursor=page.next_cursor)
    assert seen == by_time
    desc = admin.job_list(sconn, None, JobListParams(order_by="scheduled_at", descending=True, limit=10))
    assert [j.id for j in desc.jobs] == list(reversed(by_time))
    assert desc.next_cursor is None


def test_job_list_by_finalized_at_lists_finalized_jobs(sconn: psycopg.Connection[Any]) -> None:
    insert_job(sconn, state="available")
    done = insert_job(sconn, state="completed")
    page = admin.job_list(sconn, None, JobListParams(order_by="finalized_at"))
    assert [j.id for j in page.jobs] == [done]


def test_job_list_rejects_bad_params() -> None:
    with pytest.raises(ValidationError, match="order_by"):
        JobListParams(order_by="kind")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="limit"):
        JobListParams(limit=0)
    with pytest.raises(ValidationError, match="states"):
        JobListParams(states=["finished"])
    with pytest.raises(ValidationError, match="priorities"):
        JobListParams(priorities=[5])
    with pytest.raises(ValidationError, match="cursor"):
        JobListParams(cursor="garbage!")
    cursor = JobListCursor("id", False, 5, None).encode()
    with pytest.raises(ValidationError, match="different order"):
        JobListParams(cursor=cursor, descending=True)


def test_cancel_not_running_job_cancels_now(sconn: psycopg.Connection[Any]) -> None:
    job_id = insert_job(sconn, state="scheduled", scheduled_at="2030-01-01T00:00:00Z")
    job = admin.job_cancel(sconn, None, job_id)
    assert job.state == "cancelled"
    assert job.finalized_at is not None
    assert job.metadata["cancel_attempted_at"].endswith("Z")


def test_cancel_running_job_marks_it_and_notifies(river_url: str, sconn: psycopg.Connection[Any]) -> None:
    job_id = insert_job(sconn, state="running", queue="work", attempt=1, attempted_at="now")
    with listening(river_url, "public.river_control") as listener:
        job = admin.job_cancel(sconn, None, job_id)
        assert job.state == "running"
        assert job.finalized_at is None
        assert "cancel_attempted_at" in job.metadata
        wait_until(lambda: listener.got({"action": "cancel", "job_id": job_id, "queue": "work"}))


def test_cancel_finalized_job_is_a_no_op_returning_the_row(sconn: psycopg.Connection[Any]) -> None:
    job_id = insert_job(sconn, state="completed")
    before = job_row(sconn, job_id)
    job = admin.job_cancel(sconn, None, job_id)
    assert job.state == "completed"
    assert job.finalized_at == before["finalized_at"]
    assert job.metadata == {}
    with pytest.raises(JobNotFoundError):
        admin.job_cancel(sconn, None, 999_999)


def test_retry_makes_job_available_and_adds_an_attempt_when_used_up(sconn: psycopg.Connection[Any]) -> None:
    discarded = insert_job(
        sconn, state="discarded", attempt=3, max_attempts=3, metadata={"cancel_attempted_at": "x", "keep": 1}
    )
    job = admin.job_retry(sconn, None, discarded)
    assert job.state == "available"
    assert job.max_attempts == 4
    assert job.finalized_at is None
    assert job.metadata == {"keep": 1}
    partial = insert_job(sconn, state="retryable", attempt=1, max_attempts=3, scheduled_at="2030-01-01T00:00:00Z")
    job = admin.job_retry(sconn, None, partial)
    assert (job.state, job.max_attempts) == ("available", 3)


def test_retry_leaves_running_and_due_available_jobs_alone(sconn: psycopg.Connection[Any]) -> None:
    running = insert_job(sconn, state="running", attempt=1, attempted_at="now")
    assert (admin.job_retry(sconn, None, running)).state == "running"
    due = insert_job(sconn, state="available", scheduled_at="2020-01-01T00:00:00Z")
    job = admin.job_retry(sconn, None, due)
    assert job.scheduled_at == (job_row(sconn, due))["scheduled_at"]
    with pytest.raises(JobNotFoundError):
        admin.job_retry(sconn, None, 999_999)


def test_retry_conflicting_with_a_live_unique_job_is_a_clear_error(sconn: psycopg.Connection[Any]) -> None:
    old = insert_job(sconn, state="discarded", unique_key=KEY, unique_states=245)
    insert_job(sconn, state="available", unique_key=KEY, unique_states=245)
    with pytest.raises(UniqueConflictError, match="unique key"):
        admin.job_retry(sconn, None, old)
    assert (job_row(sconn, old))["state"] == "discarded"


def test_delete(sconn: psycopg.Connection[Any]) -> None:
    job_id = insert_job(sconn, state="completed")
    assert (admin.job_delete(sconn, None, job_id)).id == job_id
    with pytest.raises(JobNotFoundError):
        admin.job_get(sconn, None, job_id)
    running = insert_job(sconn, state="running", attempt=1, attempted_at="now")
    with pytest.raises(JobRunningError, match="running"):
        admin.job_delete(sconn, None, running)
    assert (job_row(sconn, running))["state"] == "running"
    with pytest.raises(JobNotFoundError):
        admin.job_delete(sconn, None, 999_999)


def test_delete_many_skips_running_jobs(sconn: psycopg.Connection[Any]) -> None:
    a = insert_job(sconn, kind="gone")
    insert_job(sconn, kind="gone", state="running", attempt=1, attempted_at="now")
    c = insert_job(sconn, kind="gone", state="completed")
    keep = insert_job(sconn, kind="kept")
    deleted = admin.job_delete_many(sconn, None, JobListParams(kinds=["gone"]))
    assert [j.id for j in deleted] == [a, c]
    remaining = [j.kind for j in (admin.job_list(sconn, None)).jobs]
    assert remaining == ["gone", "kept"]
    assert keep


def test_queue_get_list_and_update(river_url: str, sconn: psycopg.Connection[Any]) -> None:
    insert_queue(sconn, "alpha")
    insert_queue(sconn, "beta")
    assert [q.name for q in admin.queue_list(sconn, None)] == ["alpha", "beta"]
    queue = admin.queue_get(sconn, None, "alpha")
    assert (queue.name, queue.paused, queue.metadata) == ("alpha", False, {})
    with pytest.raises(QueueNotFoundError):
        admin.queue_get(sconn, None, "missing")
    with listening(river_url, "public.river_control") as listener:
        updated = admin.queue_update(sconn, None, "alpha", {"owner": "ops"})
        assert updated.metadata == {"owner": "ops"}
        expected = {"action": "metadata_changed", "metadata": {"owner": "ops"}, "queue": "alpha"}
        wait_until(lambda: listener.got(expected))
    with pytest.raises(QueueNotFoundError):
        admin.queue_update(sconn, None, "missing", {})


def test_pause_and_resume_are_durable_and_notified(river_url: str, sconn: psycopg.Connection[Any]) -> None:
    insert_queue(sconn, "alpha")
    insert_queue(sconn, "beta")
    with listening(river_url, "public.river_control") as listener:
        admin.queue_pause(sconn, None, "alpha")
        paused = admin.queue_get(sconn, None, "alpha")
        assert paused.paused_at is not None
        assert not (admin.queue_get(sconn, None, "beta")).paused
        admin.queue_pause(sconn, None, "alpha")
        assert (admin.queue_get(sconn, None, "alpha")).paused_at == paused.paused_at
        wait_until(lambda: listener.got({"action": "pause", "queue": "alpha"}))
        admin.queue_pause(sconn, None, "*")
        assert all(q.paused for q in admin.queue_list(sconn, None))
        admin.queue_resume(sconn, None, "*")
        assert not any(q.paused for q in admin.queue_list(sconn, None))
        wait_until(lambda: listener.got({"action": "resume", "queue": "*"}))


def test_pause_bad_input(sconn: psycopg.Connection[Any]) -> None:
    with pytest.raises(ValidationError, match="queue"):
        admin.queue_pause(sconn, None, "Not A Queue!")
    with pytest.raises(ValidationError, match="queue"):
        admin.queue_resume(sconn, None, "x" * 65)
    with pytest.raises(QueueNotFoundError):
        admin.queue_pause(sconn, None, "missing")


def test_leader_get_and_request_resign(river_url: str, sconn: psycopg.Connection[Any]) -> None:
    assert admin.leader_get(sconn, None) is None
    sconn.execute(
        "INSERT INTO river_leader (leader_id, elected_at, expires_at) VALUES ('x', now(), now() + interval '15 s')"
    )
    leader = admin.leader_get(sconn, None)
    assert leader is not None
    assert leader.leader_id == "x"
    assert leader.expires_at - leader.elected_at == timedelta(seconds=15)
    with listening(river_url, "public.river_leadership") as listener:
        admin.leader_request_resign(sconn, None)
        wait_until(lambda: listener.got({"action": "request_resign", "leader_id": ""}))


def test_custom_schema(river_url: str, sconn: psycopg.Connection[Any]) -> None:
    sconn.execute("CREATE SCHEMA other")
    sconn.execute("CREATE TABLE other.river_queue (LIKE public.river_queue INCLUDING ALL)")
    sconn.execute("INSERT INTO other.river_queue (name) VALUES ('elsewhere')")
    with listening(river_url, "other.river_control") as listener:
        admin.queue_pause(sconn, "other", "elsewhere")
        wait_until(lambda: listener.got({"action": "pause", "queue": "elsewhere"}))
    assert (admin.queue_get(sconn, "other", "elsewhere")).paused
    assert admin.queue_list(sconn, None) == []
