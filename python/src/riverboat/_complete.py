"""The batch completer (spec/07-complete.md#batching): completions gather in memory and are
written in batches, one statement each, every 50 ms or as soon as 100 are waiting.

A failed write is retried with backoff and the batch is kept: a completion is never dropped
while the runtime runs. Producers ask ``wait_for_capacity`` before fetching, so a backlog
that the database can't absorb slows fetching down instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._completion import Completion, set_state_params
from riverboat._json_rows import fast_json
from riverboat._queries import query
from riverboat._service import Service
from riverboat._waiting import wait_event
from riverboat.job import Job

logger = logging.getLogger("riverboat")

FLUSH_INTERVAL = timedelta(milliseconds=50)
FLUSH_AT = 100
MAX_BATCH = 5_000
#: Above this backlog producers wait until it has drained to ``BACKLOG_RESUME``.
BACKLOG_LIMIT = 10_000
BACKLOG_RESUME = 5_000
RETRY_BACKOFF_MAX = 5.0
#: After stop, how long a batch the database refuses is retried before it is given up.
STOP_RETRY_DEADLINE = 30.0

CompletedCallback = Callable[[Completion, Job], None]
#: Whether anyone listens for completed rows now; when not, the rows aren't read back.
WantsRows = Callable[[], bool]


class BatchCompleter(Service):
    name = "riverboat-completer"

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[Any],
        schema: str | None,
        on_completed: CompletedCallback | None = None,
        wants_rows: WantsRows = lambda: True,
    ) -> None:
        self._pool = pool
        self._sql = query("job_set_state_if_running_many", schema)
        self._on_completed = on_completed
        self._wants_rows = wants_rows
        self._pending: dict[int, Completion] = {}
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._stopping = False

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def add(self, completion: Completion) -> None:
        self._pending[completion.job_id] = completion
        size = len(self._pending)
        if size >= FLUSH_AT:
            self._wake.set()
        if size >= BACKLOG_LIMIT:
            self._drained.clear()

    async def wait_for_capacity(self) -> None:
        """Return at once unless the backlog is over the limit; then wait for it to drain."""
        if not self._drained.is_set():
            await self._drained.wait()

    async def _prepare(self) -> None:
        self._stopping = False

    async def _end(self, task: asyncio.Task[None]) -> None:
        """Flush everything pending, then end."""
        self._stopping = True
        self._wake.set()
        await task

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, FLUSH_INTERVAL.total_seconds())
            self._wake.clear()
            await self.flush()
            if self._stopping and not self._pending:
                return

    async def flush(self) -> None:
        """Write every pending completion (in sub-batches), retrying failures with backoff."""
        while self._pending:
            items = list(self._pending.values())[:MAX_BATCH]
            for c in items:
                del self._pending[c.job_id]
            await self._write_until_done(items)
            if len(self._pending) < BACKLOG_RESUME:
                self._drained.set()

    async def _write_until_done(self, batch: list[Completion]) -> None:
        delay = 0.05
        waited = 0.0
        while True:
            try:
                rows = await self._write(batch, read_rows=self._on_completed is not None and self._wants_rows())
            except (psycopg.Error, OSError) as exc:
                if self._stopping and waited >= STOP_RETRY_DEADLINE:
                    logger.error("completer: giving up %d completions at stop: %s", len(batch), exc)
                    return
                logger.warning(
                    "completer: writing %d completions failed (%s); retrying in %.2fs", len(batch), exc, delay
                )
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, RETRY_BACKOFF_MAX)
                continue
            if self._on_completed is not None and rows:
                by_id = {c.job_id: c for c in batch}
                for row in rows:
                    self._on_completed(by_id[row["id"]], Job.from_row(row))
            return

    async def _write(self, batch: list[Completion], *, read_rows: bool) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn, fast_json(conn.cursor(row_factory=dict_row)) as cur:
            await cur.execute(self._sql, set_state_params(batch, read_rows=read_rows))
            if not read_rows:
                return []
            rows: list[dict[str, Any]] = await cur.fetchall()
            return rows
