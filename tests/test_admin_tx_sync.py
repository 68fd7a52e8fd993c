# Generated from test_admin_tx_async.py by scripts/generate_sync.py. Do not edit.
"""The clients' admin operations in the caller's transaction (the ``_tx`` forms, River's
``…Tx``; spec/12-queues-and-admin.md#transactions): what they change and what they
announce takes effect when the caller commits and vanishes when it rolls back; reads see
the caller's uncommitted rows. Also ``job_delete_many``'s guard against deleting everything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from riverboat import Client, JobListParams, JobState, RawArgs, ValidationError
from tests import maintenance_support
from tests.db_support_sync import Listener, insert_job, insert_queue, listening
from tests.helpers import wait_until

sconn = maintenance_support.sconn
river_url = maintenance_support.river_url


@pytest.fixture
def client(river_url: str) -> Iterator[Client]:
    with Client(river_url) as created:
        yield created


@pytest.fixture
def tx_conn(river_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose transactions the test opens and ends itself."""
    with psycopg.Connection.connect(river_url) as connection:
        yield connection


def test_reads_see_the_callers_uncommitted_rows(client: Client, tx_conn: Any) -> None:
    with tx_conn.transaction(force_rollback=True):
        job = (client.insert_tx(tx_conn, RawArgs("pending_report", {}))).job
        tx_conn.execute("INSERT INTO river_queue (name) VALUES ('uncommitted')")
        assert (client.job_get_tx(tx_conn, job.id)).id == job.id
        assert [j.id for j in (client.job_list_tx(tx_conn, JobListParams(kinds=["pending_report"]))).jobs] == [
            job.id
        ]
        assert (client.queue_get_tx(tx_conn, "uncommitted")).name == "uncommitted"
        assert [q.name for q in client.queue_list_tx(tx_conn)] == ["uncommitted"]
        assert (client.job_list(JobListParams(kinds=["pending_report"]))).jobs == []
    assert client.queue_list() == []


@pytest.mark.parametrize("commit", [True, False])
def test_job_changes_follow_the_callers_transaction(
    client: Client, tx_conn: Any, sconn: Any, commit: bool
) -> None:
    to_cancel = insert_job(sconn, state="scheduled", scheduled_at="2030-01-01T00:00:00Z")
    to_retry = insert_job(sconn, state="discarded", attempt=25, finalized_at="now")
    to_delete = insert_job(sconn, state="completed", finalized_at="now")
    to_delete_many = insert_job(sconn, kind="old_report", state="completed", finalized_at="now")
    to_update = insert_job(sconn)
    with tx_conn.transaction(force_rollback=not commit):
        assert (client.job_cancel_tx(tx_conn, to_cancel)).state == JobState.CANCELLED
        assert (client.job_retry_tx(tx_conn, to_retry)).state == JobState.AVAILABLE
        assert (client.job_delete_tx(tx_conn, to_delete)).id == to_delete
        deleted = client.job_delete_many_tx(tx_conn, JobListParams(kinds=["old_report"]))
        assert [j.id for j in deleted] == [to_delete_many]
        assert (client.job_update_tx(tx_conn, to_update, output=1)).metadata == {"output": 1}
        # Until the caller commits, nobody else sees any of it.
        assert (client.job_get(to_cancel)).state == JobState.SCHEDULED
        assert (client.job_get(to_delete)).id == to_delete
    after = {job.id: job for job in (client.job_list()).jobs}
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


def test_queue_changes_and_their_notifications_wait_for_commit(
    client: Client, tx_conn: Any, sconn: Any, river_url: str
) -> None:
    insert_queue(sconn, "alpha")
    with listening(river_url, "public.river_control") as listener:
        with tx_conn.transaction(force_rollback=True):
            client.queue_pause_tx(tx_conn, "alpha")
            client.queue_update_tx(tx_conn, "alpha", {"team": "rolled back"})
        with tx_conn.transaction():
            client.queue_pause_tx(tx_conn, "alpha")
            assert not (client.queue_get("alpha")).paused
        wait_until(lambda: _received(listener, 1), what="the pause notification")
        with tx_conn.transaction():
            client.queue_update_tx(tx_conn, "alpha", {"team": "ops"})
            client.queue_resume_tx(tx_conn, "alpha")
        wait_until(lambda: _received(listener, 3), what="the update and resume notifications")
        with tx_conn.transaction():
            client.leader_request_resign_tx(tx_conn)
            assert client.leader_get_tx(tx_conn) is None
    # Notifications of the rolled-back transaction were never sent: these are the first.
    assert listener.received == [
        {"action": "pause", "queue": "alpha"},
        {"action": "metadata_changed", "metadata": {"team": "ops"}, "queue": "alpha"},
        {"action": "resume", "queue": "alpha"},
    ]
    queue = client.queue_get("alpha")
    assert (queue.paused, queue.metadata) == (False, {"team": "ops"})


def _received(listener: Listener, count: int) -> bool:
    return len(listener.receive()) >= count


def test_delete_many_needs_a_filter_or_unsafe_all(client: Client, sconn: Any) -> None:
    done = insert_job(sconn, state="completed", finalized_at="now")
    waiting = insert_job(sconn)
    running = insert_job(sconn, state="running", attempt=1, attempted_at="now")
    with pytest.raises(ValidationError) as no_filter:
        client.job_delete_many(JobListParams())
    assert (no_filter.value.field, no_filter.value.rule) == ("params", "required")
    with pytest.raises(ValidationError) as both:
        client.job_delete_many(JobListParams(kinds=["x"]), unsafe_all=True)
    assert (both.value.field, both.value.rule) == ("unsafe_all", "conflict")
    assert len((client.job_list()).jobs) == 3
    deleted = client.job_delete_many(JobListParams(), unsafe_all=True)
    assert [j.id for j in deleted] == [done, waiting]
    assert [j.id for j in (client.job_list()).jobs] == [running]
