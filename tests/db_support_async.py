"""Database helpers for tests written once, async (and generated sync): rows as a state
would leave them, and a listener that keeps what a channel was sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


async def insert_job(
    conn: psycopg.AsyncConnection[Any],
    *,
    state: str = "available",
    kind: str = "test_kind",
    queue: str = "default",
    priority: int = 1,
    attempt: int = 0,
    max_attempts: int = 25,
    scheduled_at: Any = None,
    attempted_at: Any = None,
    finalized_at: Any = None,
    metadata: dict[str, Any] | None = None,
    args: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    unique_key: bytes | None = None,
    unique_states: int | None = None,
) -> int:
    """Insert one river_job row as it would look in ``state``; returns its id."""
    if finalized_at is None and state in ("completed", "cancelled", "discarded"):
        finalized_at = "now"
    cur = await conn.execute(
        """
        INSERT INTO river_job (state, kind, queue, priority, attempt, max_attempts, scheduled_at, attempted_at,
            finalized_at, metadata, args, tags, unique_key, unique_states)
        VALUES (%(state)s, %(kind)s, %(queue)s, %(priority)s, %(attempt)s, %(max_attempts)s,
            coalesce(%(scheduled_at)s::timestamptz, now()), %(attempted_at)s::timestamptz,
            CASE WHEN %(finalized_at)s::text = 'now' THEN now() ELSE %(finalized_at)s::timestamptz END,
            %(metadata)s, %(args)s, %(tags)s::varchar(255)[], %(unique_key)s,
            CASE WHEN %(unique_states)s::int IS NULL THEN NULL ELSE %(unique_states)s::int::bit(8) END)
        RETURNING id
        """,
        {
            "state": state,
            "kind": kind,
            "queue": queue,
            "priority": priority,
            "attempt": attempt,
            "max_attempts": max_attempts,
            "scheduled_at": scheduled_at,
            "attempted_at": attempted_at,
            "finalized_at": None if finalized_at is None else str(finalized_at),
            "metadata": Jsonb(metadata or {}),
            "args": Jsonb(args or {}),
            "tags": tags or [],
            "unique_key": unique_key,
            "unique_states": unique_states,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def job_row(conn: psycopg.AsyncConnection[Any], job_id: int) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM river_job WHERE id = %s", [job_id])
        row = await cur.fetchone()
    assert row is not None, f"job {job_id} not found"
    return row


async def insert_queue(conn: psycopg.AsyncConnection[Any], name: str, *, updated_ago: str = "0 seconds") -> None:
    await conn.execute(
        "INSERT INTO river_queue (name, created_at, updated_at) VALUES (%s, now(), now() - %s::interval)",
        [name, updated_ago],
    )


class Listener:
    """A LISTENing connection that keeps every payload its channel was sent. It reads only when
    asked (no background task), so the same code serves async tests and their sync twins."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.received: list[dict[str, Any]] = []

    async def receive(self, within: float = 0.05) -> list[dict[str, Any]]:
        """Everything received so far, after reading what arrives within ``within`` seconds."""
        async for note in self.conn.notifies(timeout=within):
            self.received.append(json.loads(note.payload))
        return self.received

    async def got(self, payload: dict[str, Any]) -> bool:
        return payload in await self.receive()


@asynccontextmanager
async def listening(url: str, channel: str) -> AsyncIterator[Listener]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield Listener(conn)
