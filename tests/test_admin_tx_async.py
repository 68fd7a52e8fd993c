"""The clients' admin operations in the caller's transaction (the ``_tx`` forms, River's
``…Tx``; spec/12-queues-and-admin.md#transactions): what they change and what they
announce takes effect when the caller commits and vanishes when it rolls back; reads see
the caller's uncommitted rows. Also ``job_delete_many``'s guard against deleting everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from riverboat import AsyncClient, JobListParams, JobState, RawArgs, ValidationError
from tests import maintenance_support
from tests.db_support_async import Listener, insert_job, insert_queue, listening
from tests.helpers import await_until

aconn = maintenance_support.aconn
river_url = maintenance_support.river_url


@pytest.fixture
async def client(river_url: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(river_url) as created:
        yield created


@pytest.fixture
async def tx_conn(river_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection whose transactions the test opens and ends itself."""
    async with await psycopg.AsyncConnection.connect(river_url) as connection:
        yield connection


async def test_reads_see_the_callers_uncommitted_rows(client: AsyncClient, tx_conn: Any) -> None:
    async with tx_conn.transaction(force_rollback=True):
        job = (await client.insert_tx(tx_conn, RawArgs("pending_report", {}))).job
        await tx_conn.execute("INSERT INTO river_queue (name) VALUES ('uncommitted')")
        assert (await client.job_get_tx(tx_conn, job.id)).id == job.id
        assert [j.id for j in (await client.job_list_tx(tx_conn, JobListParams(kinds=["pending_report"]))).jobs] == [
            job.id
        ]
        assert (await client.queue_get_tx(tx_conn, "uncommitted")).name == "uncommitted"
        assert [q.name for q in await client.queue_list_tx(tx_conn)] == ["uncommitted"]
        assert (await client.job_list(JobListParams(kinds=["pending_report"]))).jobs == []
    assert await client.queue_list() == []


@pytest.mark.parametrize("commit", [True, False])
async def test_job_changes_follow_the_callers_transaction(
    client: AsyncClient, tx_conn: Any, aconn: Any, commit: bool
) -> None:
    to_cancel = await insert_job(aconn, state="scheduled", scheduled_at="2030-01-01T00:00:00Z")
    to_retry = await insert_job(aconn, state="discarded", attempt=25, finalized_at="now")
    to_delete = await insert_job(aconn, state="completed", finalized_at="now")
    to_delete_many = await insert_job(aconn, kind="old_report", state="completed", finalized_at="now")
    to_update = await insert_job(aconn)
    async with tx_conn.transaction(force_rollback=not commit):
        assert (await client.job_cancel_tx(tx_conn, to_cancel)).state == JobState.CANCELLED
        assert (await client.job_retry_tx(tx_conn, to_retry)).state == JobState.AVAILABLE
        assert (await client.job_delete_tx(tx_conn, to_delete)).id == to_delete
        deleted = await client.job_delete_many_tx(tx_conn, JobListParams(kinds=["old_report"]))
        assert [j.id for j in deleted] == [to_delete_many]
        assert (await client.job_update_tx(tx_conn, to_update, output=1)).metadata == {"output": 1}
        # Until the caller commits, nobody else sees any of it.
        assert (await client.job_get(to_cancel)).state == JobState.SCHEDULED
        assert (await client.job_get(to_delete)).id == to_delete
    after = {job.id: job for job in (await client.job_list()).jobs}
    if commit:
        assert after[to_cancel].state == JobState.CANCELLED
        assert after[to_retry].state == JobState.AVAILABLE
        assert to_delete not in after
        assert to_delete_many not in after
        assert after[to_update].metadata == {"output": 1}
    else:
        assert after[to_cancel].state == JobState.SCHEDULED
        assert after[to_retry].state == JobState.DISCARDED
        assert {to_delete, to_delete_many} <= set(after)
        assert after[to_update].metadata == {}


async def test_queue_changes_and_their_notifications_wait_for_commit(
    client: AsyncClient, tx_conn: Any, aconn: Any, river_url: str
) -> None:
    await insert_queue(aconn, "alpha")
    async with listening(river_url, "public.river_control") as listener:
        async with tx_conn.transaction(force_rollback=True):
            await client.queue_pause_tx(tx_conn, "alpha")
            await client.queue_update_tx(tx_conn, "alpha", {"team": "rolled back"})
        async with tx_conn.transaction():
            await client.queue_pause_tx(tx_conn, "alpha")
            assert not (await client.queue_get("alpha")).paused
        await await_until(lambda: _received(listener, 1), what="the pause notification")
        async with tx_conn.transaction():
            await client.queue_update_tx(tx_conn, "alpha", {"team": "ops"})
            await client.queue_resume_tx(tx_conn, "alpha")
        await await_until(lambda: _received(listener, 3), what="the update and resume notifications")
        async with tx_conn.transaction():
            await client.leader_request_resign_tx(tx_conn)
            assert await client.leader_get_tx(tx_conn) is None
    # Notifications of the rolled-back transaction were never sent: these are the first.
    assert listener.received == [
        {"action": "pause", "queue": "alpha"},
        {"action": "metadata_changed", "metadata": {"team": "ops"}, "queue": "alpha"},
        {"action": "resume", "queue": "alpha"},
    ]
    queue = await client.queue_get("alpha")
    assert (queue.paused, queue.metadata) == (False, {"team": "ops"})


async def _received(listener: Listener, count: int) -> bool:
    return len(await listener.receive()) >= count


async def test_delete_many_needs_a_filter_or_unsafe_all(client: AsyncClient, aconn: Any) -> None:
    done = await insert_job(aconn, state="completed", finalized_at="now")
    waiting = await insert_job(aconn)
    running = await insert_job(aconn, state="running", attempt=1, attempted_at="now")
    with pytest.raises(ValidationError) as no_filter:
        await client.job_delete_many(JobListParams())
    assert (no_filter.value.field, no_filter.value.rule) == ("params", "required")
    with pytest.raises(ValidationError) as both:
        await client.job_delete_many(JobListParams(kinds=["x"]), unsafe_all=True)
    assert (both.value.field, both.value.rule) == ("unsafe_all", "conflict")
    assert len((await client.job_list()).jobs) == 3
    deleted = await client.job_delete_many(JobListParams(), unsafe_all=True)
    assert [j.id for j in deleted] == [done, waiting]
    assert [j.id for j in (await client.job_list()).jobs] == [running]
