"""Fixtures and helpers shared by the leadership, maintenance, periodic and admin tests.

``river_url`` is a migrated database: the suite's ``db_url`` (riverboat's migrator), or,
with RIVERBOAT_TESTS_RIVER_MIGRATE=1 (or before riverboat's migrator exists), an empty
database migrated by River Go's own migrator (tests/go/cmd/rivermigrate), which checks
these parts against River's schema itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests import db_support_async
from tests.helpers import go_binary

# The row helpers are written once in db_support_async, which also serves generated sync tests.
insert_job = db_support_async.insert_job
insert_queue = db_support_async.insert_queue
job_row = db_support_async.job_row


def _use_river_migrator() -> bool:
    forced = os.environ.get("RIVERBOAT_TESTS_RIVER_MIGRATE") == "1"
    return forced or importlib.util.find_spec("riverboat.migrate") is None


@pytest.fixture
def river_url(request: pytest.FixtureRequest) -> str:
    if not _use_river_migrator():
        return str(request.getfixturevalue("db_url"))
    url = str(request.getfixturevalue("bare_db_url"))
    subprocess.run([str(go_binary("rivermigrate")), "-database-url", url, "up"], check=True, capture_output=True)
    return url


@pytest.fixture
async def aconn(river_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(river_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def sconn(river_url: str) -> Any:
    with psycopg.connect(river_url, autocommit=True) as connection:
        yield connection


class NotificationRelay:
    """Stands in for the runtime's listener: LISTENs on one channel and hands decoded
    payloads to callbacks (e.g. ``Elector.handle_notification``), keeping every payload."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self.callbacks: list[Any] = []
        self.received: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> NotificationRelay:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self._ready.set()
            async for note in conn.notifies():
                payload = json.loads(note.payload)
                self.received.append(payload)
                for callback in self.callbacks:
                    callback(payload)


async def record_leader_bids(conn: psycopg.AsyncConnection[Any]) -> None:
    """Makes every bid for leadership visible in the database: a trigger on river_leader copies each row a
    client tries to insert (also one ON CONFLICT DO NOTHING turns away) into leader_bid. Tests then wait
    for a real bid instead of assuming an elector's task has got that far."""
    await conn.execute("CREATE TABLE leader_bid (leader_id text NOT NULL)")
    await conn.execute(
        "CREATE FUNCTION leader_bid_record() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO leader_bid (leader_id) VALUES (NEW.leader_id); RETURN NEW; END $$"
    )
    await conn.execute(
        "CREATE TRIGGER leader_bid_record BEFORE INSERT ON river_leader "
        "FOR EACH ROW EXECUTE FUNCTION leader_bid_record()"
    )


async def leader_bids(conn: psycopg.AsyncConnection[Any], leader_id: str) -> int:
    """How many bids ``leader_id`` has made since ``record_leader_bids``."""
    cur = await conn.execute("SELECT count(*) FROM leader_bid WHERE leader_id = %s", (leader_id,))
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


class GoClient:
    """A River Go v0.51.2 client (tests/go/cmd/riverleader) driven over stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str, client_id: str, queue: str = "go_queue") -> GoClient:
        process = await asyncio.create_subprocess_exec(
            str(go_binary("riverleader")),
            "-database-url",
            url,
            "-id",
            client_id,
            "-queue",
            queue,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        client = cls(process)
        await client.expect("started")
        return client

    async def expect(self, line: str) -> None:
        assert self.process.stdout is not None
        while line not in self.lines:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout=30)
            assert raw, f"riverleader exited; saw {self.lines}"
            self.lines.append(raw.decode().strip())

    async def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            await self.send("stop")
            await self.expect("stopped")
            await self.process.wait()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
