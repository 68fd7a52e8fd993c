"""The batch completer (spec/07-complete.md#batching): completions gather in memory and are
written in batches, one statement each, every 50 ms or as soon as 100 are waiting.

No completion is dropped while the runtime runs. A write that fails is retried: after a lost
connection, a deadline or a conflict the batch is retried after a backoff (at most a
second); a batch the server refuses (a constraint, a trigger, a privilege) is split until
the completions it refuses are alone, and those wait and are retried on their own, so one
bad row never holds the others back. A retried write never applies twice: an outcome
changes its job only while the job is still in the attempt this client fetched.

At stop, what can't be written within ``STOP_WRITE_DEADLINE`` (``HURRY_DEADLINE`` after
``hurry()``) is left as it is, its jobs ``running`` for the rescuer, and logged job by job.
Producers ask ``wait_for_capacity`` before fetching, so a backlog that the database can't
absorb slows fetching down instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._completion import Completion, is_plain_completion, set_completed_params, set_state_params
from riverboat._db import CANCEL_GRACE, Outage, describe_error, is_statement_error, pooled
from riverboat._defaults import DATABASE_TIMEOUT_WORK_DEFAULT
from riverboat._json_rows import fast_json
from riverboat._queries import query
from riverboat._service import Service, cancel_and_wait
from riverboat._waiting import wait_event
from riverboat.job import Job

logger = logging.getLogger("riverboat")

FLUSH_INTERVAL = timedelta(milliseconds=50)
FLUSH_AT = 100
MAX_BATCH = 5_000
#: Above this backlog producers wait until it has drained to ``BACKLOG_RESUME``.
BACKLOG_LIMIT = 10_000
BACKLOG_RESUME = 5_000
#: A completion the server refused on its own is retried after this, doubling up to the max.
REFUSED_RETRY_START = 1.0
REFUSED_RETRY_MAX = 5.0
#: At stop, how long completions that can't be written are retried before they are left.
STOP_WRITE_DEADLINE = 5.0
#: After ``hurry()`` (a second stop signal), how long the completer still tries.
HURRY_DEADLINE = 1.0
#: A write at stop gets at least this long, however close the stop deadline is.
STOP_WRITE_MIN = 0.1
#: Jobs named one by one in the log when completions are left unwritten at stop.
LEFT_LOGGED_MAX = 100

CompletedCallback = Callable[[Completion, Job], None]
#: Told of every batch once it is written.
WrittenCallback = Callable[[list[Completion]], None]
#: Whether anyone listens for completed rows now; when not, the rows aren't read back.
WantsRows = Callable[[], bool]


class Fetched(NamedTuple):
    """What the fetch said of a running job: its attempt's ``attempted_at`` (an outcome is
    written onto that attempt only) and what the log names a job by."""

    attempted_at: datetime | None
    kind: str
    queue: str
    attempt: int


class BatchCompleter(Service):
    name = "riverboat-completer"

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[Any],
        schema: str | None,
        on_completed: CompletedCallback | None = None,
        wants_rows: WantsRows = lambda: True,
        on_written: WrittenCallback | None = None,
        timeout: float = DATABASE_TIMEOUT_WORK_DEFAULT.total_seconds(),
    ) -> None:
        self._pool = pool
        self._sql = query("job_set_state_if_running_many", schema)
        self._completed_sql = query("job_set_completed_many", schema)
        self._on_completed = on_completed
        self._wants_rows = wants_rows
        self._on_written = on_written
        self._timeout = timeout
        # Written completions leave _pending; one being written stays until it is.
        self._pending: dict[int, Completion] = {}
        self._fetched: dict[int, Fetched] = {}
        # Completions the server refused on their own: (not before, current delay).
        self._refused: dict[int, tuple[float, float]] = {}
        self._outage = Outage("completer: writing completions")
        self._last_error = ""
        self._wake = asyncio.Event()
        self._hurried = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._stopping = False
        self._stop_write_deadline = STOP_WRITE_DEADLINE
        self._stop_by = 0.0

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def track(self, row: Mapping[str, Any]) -> None:
        """Remember what the fetch said of a job it locked (``row`` is the fetched row)."""
        self._fetched[row["id"]] = Fetched(row["attempted_at"], row["kind"], row["queue"], row["attempt"])

    def knows(self, job_id: int) -> bool:
        """Whether a fetch handed this job over and its outcome is not written yet."""
        return job_id in self._fetched or job_id in self._pending

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

    def hurry(self) -> None:
        """Stop sooner: at stop (now or later), give unwritten completions only ``HURRY_DEADLINE``."""
        self._stop_write_deadline = HURRY_DEADLINE
        if self._stopping:
            self._stop_by = min(self._stop_by, time.monotonic() + HURRY_DEADLINE)
            self._hurried.set()

    async def _prepare(self) -> None:
        self._stopping = False
        self._stop_write_deadline = STOP_WRITE_DEADLINE
        self._hurried.clear()

    async def _end(self, task: asyncio.Task[None]) -> None:
        """Write what is pending (for ``STOP_WRITE_DEADLINE`` at most), then end; whatever is
        still unwritten is left for the rescuer and logged."""
        self._stopping = True
        self._stop_by = time.monotonic() + self._stop_write_deadline
        self._wake.set()
        while not task.done() and time.monotonic() < self._stop_by + CANCEL_GRACE:
            await asyncio.wait({task}, timeout=FLUSH_INTERVAL.total_seconds())
        await cancel_and_wait(task)
        self._leave_running()

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, FLUSH_INTERVAL.total_seconds())
            self._wake.clear()
            await self.flush()
            if self._stopping and (not self._pending or self._past_stop()):
                return

    def _past_stop(self) -> bool:
        return self._stopping and time.monotonic() >= self._stop_by

    async def flush(self) -> None:
        """Write every pending completion that is due (in sub-batches), retrying failures."""
        while batch := self._take():
            await self._write_until_done(batch)
            if len(self._pending) < BACKLOG_RESUME:
                self._drained.set()
            if self._past_stop():
                return

    def _take(self) -> list[Completion]:
        """Up to ``MAX_BATCH`` pending completions, except refused ones not yet due again
        (at stop every one is due)."""
        now = time.monotonic()
        batch: list[Completion] = []
        for job_id, completion in self._pending.items():
            refused = self._refused.get(job_id)
            if refused is not None and refused[0] > now and not self._stopping:
                continue
            batch.append(completion)
            if len(batch) >= MAX_BATCH:
                break
        return batch

    async def _write_until_done(self, batch: list[Completion]) -> None:
        while not self._past_stop():
            try:
                await self._write(batch)
            except (psycopg.Error, OSError) as exc:
                self._last_error = describe_error(exc)
                delay = self._outage.failed(exc)
                if is_statement_error(exc):
                    await self._split(batch)
                    return
                if self._stopping:
                    delay = min(delay, max(self._stop_by - time.monotonic(), 0.0))
                if await wait_event(self._hurried, delay):
                    self._hurried.clear()
                continue
            self._outage.succeeded()
            return

    async def _split(self, batch: list[Completion]) -> None:
        """The server refused ``batch``: write its halves apart until each refused completion
        is alone; such a one waits and is retried on its own."""
        if len(batch) > 1:
            half = len(batch) // 2
            await self._write_until_done(batch[:half])
            await self._write_until_done(batch[half:])
            return
        job_id = batch[0].job_id
        if job_id not in self._refused:
            logger.warning(
                "completer: %s: the database refused its outcome (%s); retrying it on its own",
                self._describe(job_id), self._last_error,
            )  # fmt: skip
        _, delay = self._refused.get(job_id, (0.0, REFUSED_RETRY_START / 2))
        delay = min(delay * 2, REFUSED_RETRY_MAX)
        self._refused[job_id] = (time.monotonic() + delay, delay)

    async def _write(self, batch: list[Completion]) -> None:
        read_rows = self._on_completed is not None and self._wants_rows()
        attempted_at = [fetched.attempted_at if (fetched := self._fetched.get(c.job_id)) else None for c in batch]
        # A batch of plain completions whose rows nobody reads takes the cheaper statement.
        plain = not read_rows and all(is_plain_completion(c) for c in batch)
        if plain:
            statement, params = self._completed_sql, set_completed_params(batch, attempted_at)
        else:
            statement, params = self._sql, set_state_params(batch, read_rows=read_rows, attempted_at=attempted_at)
        seconds = self._timeout
        if self._stopping:
            seconds = max(min(seconds, self._stop_by - time.monotonic()), STOP_WRITE_MIN)
        async with (
            pooled(self._pool, seconds, "completer: writing completions") as conn,
            fast_json(conn.cursor(row_factory=dict_row)) as cur,
        ):
            await cur.execute(statement, params)
            rows: list[dict[str, Any]] = await cur.fetchall() if read_rows else []
        for c in batch:
            if self._pending.get(c.job_id) is c:
                del self._pending[c.job_id]
            self._fetched.pop(c.job_id, None)
            self._refused.pop(c.job_id, None)
        if self._on_written is not None:
            self._on_written(batch)
        if self._on_completed is not None and rows:
            by_id = {c.job_id: c for c in batch}
            for row in rows:
                self._on_completed(by_id[row["id"]], Job.from_row(row))

    def _describe(self, job_id: int) -> str:
        fetched = self._fetched.get(job_id)
        if fetched is None:
            return f"job {job_id}"
        return f"job {job_id} (kind {fetched.kind!r}, queue {fetched.queue!r}, attempt {fetched.attempt})"

    def _leave_running(self) -> None:
        """Log the completions that could not be written: their jobs stay ``running``, which
        is true enough (this client no longer works them), until the rescuer retries them."""
        left = list(self._pending.values())
        if left:
            logger.error(
                "completer: stopping with %d outcomes not written (last error: %s); their jobs stay running and "
                "the job rescuer retries them once rescue_stuck_jobs_after has passed",
                len(left), self._last_error or "no write answered before the stop",
            )  # fmt: skip
        for completion in left[:LEFT_LOGGED_MAX]:
            logger.error(
                "completer: %s stays running: its outcome (%s) was not written",
                self._describe(completion.job_id), completion.state,
            )  # fmt: skip
        self._pending.clear()
        self._fetched.clear()
        self._refused.clear()
        self._drained.set()
