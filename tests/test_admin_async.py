"""Admin operations (spec/12-queues-and-admin.md) against a real database. Written once for
``riverboat._async.admin``; ``test_admin_sync.py`` runs the same tests against the generated
``riverboat._sync.admin``. River Go interop is in test_admin_interop.py."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat._async import admin
from riverboat.admin import JobListCursor, JobListParams
from riverboat.errors import (
    JobNotFoundError,
    JobRunningError,
    QueueNotFoundError,
    UniqueConflictError,
    ValidationError,
)
from tests import maintenance_support
from tests.db_support_async import insert_job, insert_queue, job_row, listening
from tests.helpers import await_until

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

KEY = hashlib.sha256(b"&kind=test_kind&args={}").digest()


async def test_job_get_and_not_found(aconn: psycopg.AsyncConnection[Any]) -> None:
    job_id = await insert_job(aconn, kind="k1", args={"a": 1})
    job = await admin.job_get(aconn, None, job_id)
    assert (job.id, job.kind, job.args) == (job_id, "k1", {"a": 1})
    with pytest.raises(JobNotFoundError, match="not found"):
        await admin.job_get(aconn, None, 999_999)
    with pytest.raises(ValidationError, match="id"):
        await admin.job_get(aconn, None, 0)


async def test_job_list_filters(aconn: psycopg.AsyncConnection[Any]) -> None:
    a = await insert_job(aconn, kind="alpha", queue="q1", priority=1, tags=["red", "big"], metadata={"team": "x"})
    b = await insert_job(aconn, kind="beta", queue="q2", priority=2, tags=["red"], metadata={"team": "y", "n": 1})
    c = await insert_job(aconn, kind="beta", queue="q1", priority=3, state="completed", tags=["blue"])

    async def ids(**filters: Any) -> list[int]:
        return [j.id for j in (await admin.job_list(aconn, None, JobListParams(**filters))).jobs]

    assert await ids() == [a, b, c]
    assert await ids(ids=[a, c]) == [a, c]
    assert await ids(kinds=["beta"]) == [b, c]
    assert await ids(queues=["q1"]) == [a, c]
    assert await ids(states=["completed"]) == [c]
    assert await ids(priorities=[1, 2]) == [a, b]
    assert await ids(tags_any=["big", "blue"]) == [a, c]
    assert await ids(tags_all=["red", "big"]) == [a]
    assert await ids(metadata={"team": "y"}) == [b]
    assert await ids(kinds=["beta"], queues=["q1"]) == [c]
    assert await ids(descending=True) == [c, b, a]


async def test_job_list_orders_and_pages_with_a_cursor(aconn: psycopg.AsyncConnection[Any]) -> None:
    jobs = []
    for day in [3, 1, 2, 5, 4]:
        jobs.append(await insert_job(aconn, state="scheduled", scheduled_at=f"2030-01-0{day}T00:00:00Z"))
    by_time = [jobs[1], jobs[2], jobs[0], jobs[4], jobs[3]]
    seen: list[int] = []
    params = JobListParams(order_by="scheduled_at", limit=2)
    while True:
        page = await admin.job_list(aconn, None, params)
        seen.extend(j.id for j in page.jobs)
        if page.next_cursor is None:
            break
        params = JobListParams(order_by="scheduled_at", limit=2, cursor=page.next_cursor)
    assert seen == by_time
    desc = await admin.job_list(aconn, None, JobListParams(order_by="scheduled_at", descending=True, limit=10))
    assert [j.id for j in desc.jobs] == list(reversed(by_time))
    assert desc.next_cursor is None


async def test_job_list_by_finalized_at_lists_finalized_jobs(aconn: psycopg.AsyncConnection[Any]) -> None:
    await insert_job(aconn, state="available")
    done = await insert_job(aconn, state="completed")
    page = await admin.job_list(aconn, None, JobListParams(order_by="finalized_at"))
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


async def test_cancel_not_running_job_cancels_now(aconn: psycopg.AsyncConnection[Any]) -> None:
    job_id = await insert_job(aconn, state="scheduled", scheduled_at="2030-01-01T00:00:00Z")
    job = await admin.job_cancel(aconn, None, job_id)
    assert job.state == "cancelled"
    assert job.finalized_at is not None
    assert job.metadata["cancel_attempted_at"].endswith("Z")


async def test_cancel_running_job_marks_it_and_notifies(river_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    job_id = await insert_job(aconn, state="running", queue="work", attempt=1, attempted_at="now")
    async with listening(river_url, "public.river_control") as listener:
        job = await admin.job_cancel(aconn, None, job_id)
        assert job.state == "running"
        assert job.finalized_at is None
        assert "cancel_attempted_at" in job.metadata
        await await_until(lambda: listener.got({"action": "cancel", "job_id": job_id, "queue": "work"}))


async def test_cancel_finalized_job_is_a_no_op_returning_the_row(aconn: psycopg.AsyncConnection[Any]) -> None:
    job_id = await insert_job(aconn, state="completed")
    before = await job_row(aconn, job_id)
    job = await admin.job_cancel(aconn, None, job_id)
    assert job.state == "completed"
    assert job.finalized_at == before["finalized_at"]
    assert job.metadata == {}
    with pytest.raises(JobNotFoundError):
        await admin.job_cancel(aconn, None, 999_999)


async def test_retry_makes_job_available_and_adds_an_attempt_when_used_up(aconn: psycopg.AsyncConnection[Any]) -> None:
    discarded = await insert_job(
        aconn, state="discarded", attempt=3, max_attempts=3, metadata={"cancel_attempted_at": "x", "keep": 1}
    )
    job = await admin.job_retry(aconn, None, discarded)
    assert job.state == "available"
    assert job.max_attempts == 4
    assert job.finalized_at is None
    assert job.metadata == {"keep": 1}
    partial = await insert_job(aconn, state="retryable", attempt=1, max_attempts=3, scheduled_at="2030-01-01T00:00:00Z")
    job = await admin.job_retry(aconn, None, partial)
    assert (job.state, job.max_attempts) == ("available", 3)


async def test_retry_leaves_running_and_due_available_jobs_alone(aconn: psycopg.AsyncConnection[Any]) -> None:
    running = await insert_job(aconn, state="running", attempt=1, attempted_at="now")
    assert (await admin.job_retry(aconn, None, running)).state == "running"
    due = await insert_job(aconn, state="available", scheduled_at="2020-01-01T00:00:00Z")
    job = await admin.job_retry(aconn, None, due)
    assert job.scheduled_at == (await job_row(aconn, due))["scheduled_at"]
    with pytest.raises(JobNotFoundError):
        await admin.job_retry(aconn, None, 999_999)


async def test_retry_conflicting_with_a_live_unique_job_is_a_clear_error(aconn: psycopg.AsyncConnection[Any]) -> None:
    old = await insert_job(aconn, state="discarded", unique_key=KEY, unique_states=245)
    await insert_job(aconn, state="available", unique_key=KEY, unique_states=245)
    with pytest.raises(UniqueConflictError, match="unique key"):
        await admin.job_retry(aconn, None, old)
    assert (await job_row(aconn, old))["state"] == "discarded"


async def test_delete(aconn: psycopg.AsyncConnection[Any]) -> None:
    job_id = await insert_job(aconn, state="completed")
    assert (await admin.job_delete(aconn, None, job_id)).id == job_id
    with pytest.raises(JobNotFoundError):
        await admin.job_get(aconn, None, job_id)
    running = await insert_job(aconn, state="running", attempt=1, attempted_at="now")
    with pytest.raises(JobRunningError, match="running"):
        await admin.job_delete(aconn, None, running)
    assert (await job_row(aconn, running))["state"] == "running"
    with pytest.raises(JobNotFoundError):
        await admin.job_delete(aconn, None, 999_999)


async def test_delete_many_skips_running_jobs(aconn: psycopg.AsyncConnection[Any]) -> None:
    a = await insert_job(aconn, kind="gone")
    await insert_job(aconn, kind="gone", state="running", attempt=1, attempted_at="now")
    c = await insert_job(aconn, kind="gone", state="completed")
    keep = await insert_job(aconn, kind="kept")
    deleted = await admin.job_delete_many(aconn, None, JobListParams(kinds=["gone"]))
    assert [j.id for j in deleted] == [a, c]
    remaining = [j.kind for j in (await admin.job_list(aconn, None)).jobs]
    assert remaining == ["gone", "kept"]
    assert keep


async def test_queue_get_list_and_update(river_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    await insert_queue(aconn, "alpha")
    await insert_queue(aconn, "beta")
    assert [q.name for q in await admin.queue_list(aconn, None)] == ["alpha", "beta"]
    queue = await admin.queue_get(aconn, None, "alpha")
    assert (queue.name, queue.paused, queue.metadata) == ("alpha", False, {})
    with pytest.raises(QueueNotFoundError):
        await admin.queue_get(aconn, None, "missing")
    async with listening(river_url, "public.river_control") as listener:
        updated = await admin.queue_update(aconn, None, "alpha", {"owner": "ops"})
        assert updated.metadata == {"owner": "ops"}
        expected = {"action": "metadata_changed", "metadata": {"owner": "ops"}, "queue": "alpha"}
        await await_until(lambda: listener.got(expected))
    with pytest.raises(QueueNotFoundError):
        await admin.queue_update(aconn, None, "missing", {})


async def test_pause_and_resume_are_durable_and_notified(river_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    await insert_queue(aconn, "alpha")
    await insert_queue(aconn, "beta")
    async with listening(river_url, "public.river_control") as listener:
        await admin.queue_pause(aconn, None, "alpha")
        paused = await admin.queue_get(aconn, None, "alpha")
        assert paused.paused_at is not None
        assert not (await admin.queue_get(aconn, None, "beta")).paused
        await admin.queue_pause(aconn, None, "alpha")
        assert (await admin.queue_get(aconn, None, "alpha")).paused_at == paused.paused_at
        await await_until(lambda: listener.got({"action": "pause", "queue": "alpha"}))
        await admin.queue_pause(aconn, None, "*")
        assert all(q.paused for q in await admin.queue_list(aconn, None))
        await admin.queue_resume(aconn, None, "*")
        assert not any(q.paused for q in await admin.queue_list(aconn, None))
        await await_until(lambda: listener.got({"action": "resume", "queue": "*"}))


async def test_pause_bad_input(aconn: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(ValidationError, match="queue"):
        await admin.queue_pause(aconn, None, "Not A Queue!")
    with pytest.raises(ValidationError, match="queue"):
        await admin.queue_resume(aconn, None, "x" * 65)
    with pytest.raises(QueueNotFoundError):
        await admin.queue_pause(aconn, None, "missing")


async def test_leader_get_and_request_resign(river_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    assert await admin.leader_get(aconn, None) is None
    await aconn.execute(
        "INSERT INTO river_leader (leader_id, elected_at, expires_at) VALUES ('x', now(), now() + interval '15 s')"
    )
    leader = await admin.leader_get(aconn, None)
    assert leader is not None
    assert leader.leader_id == "x"
    assert leader.expires_at - leader.elected_at == timedelta(seconds=15)
    async with listening(river_url, "public.river_leadership") as listener:
        await admin.leader_request_resign(aconn, None)
        await await_until(lambda: listener.got({"action": "request_resign", "leader_id": ""}))


async def test_custom_schema(river_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    await aconn.execute("CREATE SCHEMA other")
    await aconn.execute("CREATE TABLE other.river_queue (LIKE public.river_queue INCLUDING ALL)")
    await aconn.execute("INSERT INTO other.river_queue (name) VALUES ('elsewhere')")
    async with listening(river_url, "other.river_control") as listener:
        await admin.queue_pause(aconn, "other", "elsewhere")
        await await_until(lambda: listener.got({"action": "pause", "queue": "elsewhere"}))
    assert (await admin.queue_get(aconn, "other", "elsewhere")).paused
    assert await admin.queue_list(aconn, None) == []
