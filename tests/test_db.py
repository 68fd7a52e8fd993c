"""How riverboat talks to the database under faults (riverboat/_db.py, issue 15): connection
defaults that never override the user's, deadlines that always end a call, owned pools that
check idle connections and give themselves a statement_timeout, and the log of an outage."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from riverboat import AsyncClient, Client, DatabaseTimeouts
from riverboat import _db as db
from riverboat._conninfo import with_connection_defaults
from riverboat.errors import DatabaseTimeoutError, ValidationError


def test_connection_defaults_fill_only_what_the_conninfo_leaves_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    given = conninfo_to_dict(with_connection_defaults("postgresql://u@h/d?keepalives_idle=99&tcp_user_timeout=0"))
    assert given["keepalives_idle"] == "99"
    assert given["tcp_user_timeout"] == "0"
    assert given["connect_timeout"] == "5"
    assert given["keepalives"] == "1"
    assert (given["host"], given["user"], given["dbname"]) == ("h", "u", "d")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "30")
    assert "connect_timeout" not in conninfo_to_dict(with_connection_defaults("host=h dbname=d"))
    with pytest.raises(ValidationError, match="conninfo"):
        with_connection_defaults("host='unterminated")


async def test_a_deadline_gives_a_call_up() -> None:
    with pytest.raises(DatabaseTimeoutError, match=r"fetch: no answer from the database within 0\.05 s"):
        async with db.db_deadline(0.05, "fetch"):
            await asyncio.Event().wait()
    # A call that ends in time is untouched, and so is the task afterwards.
    async with db.db_deadline(5, "fetch"):
        await asyncio.sleep(0)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_deadline_cancels_again_a_call_that_ignores_the_first_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "CANCEL_GRACE", 0.05)
    ends: list[str] = []

    async def stubborn() -> None:
        # As psycopg does while it asks the server to cancel a statement over a dead network.
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            ends.append("first cancel")
            await asyncio.Event().wait()

    with pytest.raises(DatabaseTimeoutError):
        async with db.db_deadline(0.05, "completion"):
            await stubborn()
    assert ends == ["first cancel"]
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancellation_from_outside_passes_through_a_deadline() -> None:
    async def call() -> None:
        async with db.db_deadline(30, "fetch"):
            await asyncio.Event().wait()

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_inner_deadline_is_the_inner_calls() -> None:
    with pytest.raises(DatabaseTimeoutError, match="inner"):
        async with db.db_deadline(30, "outer"), db.db_deadline(0.01, "inner"):
            await asyncio.Event().wait()


def test_outages_are_logged_once_then_reminded_then_ended(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outage = db.Outage("fetch", clock=lambda: now[0])
    error = psycopg.OperationalError("connection refused")
    with caplog.at_level(logging.DEBUG, logger="riverboat"):
        delays = [outage.failed(error) for _ in range(8)]
        now[0] = db.REMIND_EVERY + 1
        outage.failed(error)
        outage.succeeded()
        outage.succeeded()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "fetch failed: OperationalError: connection refused; retrying",
        "fetch still failing after 9 attempts over 31 s: OperationalError: connection refused",
        "fetch works again after 9 failed attempts over 31.0 s",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert delays[0] <= db.RETRY_BACKOFF_START
    assert max(delays) <= db.RETRY_BACKOFF_MAX
    assert delays[-1] >= db.RETRY_BACKOFF_MAX * (1 - db.RETRY_JITTER)


def test_a_bug_in_a_recurring_call_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="riverboat"):
        db.Outage("fetch").failed(KeyError("oops"))
    assert caplog.records[0].exc_info is not None


def test_errors_are_described_in_one_line_and_classified() -> None:
    canceled = psycopg.errors.QueryCanceled("canceling statement due to statement timeout\nCONTEXT: x")
    assert db.describe_error(canceled).startswith(
        "QueryCanceled [57014]: canceling statement due to statement timeout (the session's statement_timeout ended it"
    )
    assert db.describe_error(DatabaseTimeoutError("fetch", 10)) == (
        "DatabaseTimeoutError: fetch: no answer from the database within 10 s"
    )
    assert not db.is_statement_error(psycopg.OperationalError("gone"))
    assert db.is_database_error(DatabaseTimeoutError("fetch", 1))


@pytest.mark.parametrize(
    ("timeouts", "field", "rule"),
    [
        ("10s", "database_timeouts", "type"),
        (DatabaseTimeouts(work=timedelta(0)), "database_timeouts.work", "range"),
        (DatabaseTimeouts(insert=5), "database_timeouts.insert", "type"),  # type: ignore[arg-type]
    ],
)
def test_database_timeouts_are_validated_at_construction(timeouts: Any, field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Client("postgresql://nowhere.invalid/x", database_timeouts=timeouts)
    assert (raised.value.field, raised.value.rule) == (field, rule)


def _statement_timeout(client: Client) -> str:
    client.queue_list()  # opens the pool
    with client._pool.connection() as conn:
        row = conn.execute("SHOW statement_timeout").fetchone()
        assert row is not None
        return str(row[0])


def test_an_owned_pool_gets_a_statement_timeout_unless_one_is_set(db_url: str) -> None:
    timeouts = DatabaseTimeouts(insert=timedelta(seconds=90))
    with Client(db_url, database_timeouts=timeouts) as client:
        assert _statement_timeout(client) == "90s"
    with Client(db_url + "?options=-c%20statement_timeout%3D1234", database_timeouts=timeouts) as client:
        assert _statement_timeout(client) == "1234ms"


async def test_an_idle_pooled_connection_that_died_is_replaced_before_use(
    db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "CHECK_IDLE_AFTER", 0.0)
    async with AsyncClient(db_url) as client:
        await client.queue_list()
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        # Without the check this call would get the dead connection and fail.
        assert await client.queue_list() == []
