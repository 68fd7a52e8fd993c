"""The producer: one per worked queue (spec/06-fetch.md). It fetches ``max_workers - running``
jobs (at most ``FETCH_LIMIT_MAX``) with one statement, runs each as a task, and hands the
results to the completer. While one fetch's jobs are started, the next fetch is already on
its way (when slots are free), so the server picks a batch while this process works one.

Fetches are triggered by start, an insert notification for the queue, the poll timer (with
jitter), a freed slot after a full fetch, and a resume; at most one happens per
``fetch_cooldown``. A fetch that fails is retried after a short backoff (at most a second),
not at the next poll, so no trigger is lost; if it failed after it was sent, the retry first
takes back the jobs it may have locked for this client without the client hearing of them.
The queue's ``river_queue`` row is upserted at start and every 10 minutes. Besides the
control notifications, the producer polls its queue's paused state and the cancel requests
of its running jobs: every 2 seconds in poll-only mode, else once a minute for notifications
lost while the listener reconnected (River's intervals). Cancels are polled whether the
queue is paused, saturated or draining after a stop. Every database call has the ``work``
deadline (``DatabaseTimeouts``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._complete import BatchCompleter
from riverboat._completion import Completion
from riverboat._db import POOL_WAIT, Outage, is_statement_error, pooled
from riverboat._defaults import DATABASE_TIMEOUT_WORK_DEFAULT
from riverboat._execute import CANCELLED_REMOTELY, STOPPED, Discarded, JobExecutor, Running, decide
from riverboat._json_rows import fast_json
from riverboat._queries import query
from riverboat._service import Service, cancel_and_wait
from riverboat._threads import DaemonThreads
from riverboat._waiting import wait_event
from riverboat.job import AttemptError, Job
from riverboat.middleware import Hook, JobGetAvailableMetric, Middleware
from riverboat.worker import JobContext, JobStuckInfo, QueueConfig, StuckJobs

logger = logging.getLogger("riverboat")

QUEUE_REFRESH_INTERVAL = 600.0
#: How often cancels and pauses are polled without a listener (River's QueuePollInterval)...
QUEUE_POLL_INTERVAL = 2.0
#: ...and with one, as a fallback (River's NotificationPollInterval).
NOTIFICATION_POLL_INTERVAL = 60.0
#: Running jobs asked about per statement (River's batch size).
CANCEL_POLL_BATCH = 1000
#: Poll jitter: up to 10 % of the interval, at least 10 ms (River's rule).
JITTER_FRACTION = 0.1
JITTER_MIN = 0.01
BAD_ROW = "job row could not be read: {error}"
#: Taking back jobs after a fetch whose answer was lost looks this much further back than
#: the first such fetch started (its statement ran on the server after it was sent).
TAKE_BACK_MARGIN = 1.0
#: Jobs locked per fetch, at most: a queue with more free slots fetches again at once, so
#: the next batch is picked on the server while this process starts the current one.
FETCH_LIMIT_MAX = 500


class Producer(Service):
    """Fetches and runs the jobs of one queue. ``stop()`` stops fetching; the runtime then
    waits for (or cancels) the running jobs and calls ``close()``."""

    def __init__(
        self,
        *,
        queue: str,
        config: QueueConfig,
        pool: AsyncConnectionPool[Any],
        schema: str | None,
        client_id: str,
        executor: JobExecutor,
        completer: BatchCompleter,
        stuck_jobs: StuckJobs | None = None,
        poll_only: bool = False,
        timeout: float = DATABASE_TIMEOUT_WORK_DEFAULT.total_seconds(),
        metric_sinks: Sequence[Middleware | Hook] = (),
    ) -> None:
        self.queue = queue
        self.name = f"riverboat-producer-{queue}"
        self.config = config
        self._pool = pool
        self._schema = schema
        self._client_id = client_id
        self._executor = executor
        self._completer = completer
        self._timeout = timeout
        self._metric_sinks = tuple(metric_sinks)
        self._fetch_sql = query("job_get_available", schema)
        self._poll_interval = QUEUE_POLL_INTERVAL if poll_only else NOTIFICATION_POLL_INTERVAL
        #: Jobs the cancel poll has already cancelled, so a job still ending is not cancelled again.
        self._cancels_polled: dict[int, Running] = {}
        self._threads = DaemonThreads(f"riverboat-{queue}")
        self._stuck_jobs = stuck_jobs or StuckJobs()
        self._take_back_sql = query("job_get_running_by_client", schema)
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[int, Running] = {}
        # Jobs holding a worker slot: running ones, less those whose slot the stuck-job
        # handler gave back (they keep running, but no longer count against max_workers).
        self._active = 0
        # Fetched batches whose tasks are not made yet (their jobs hold their slots already).
        self._unlaunched: list[list[dict[str, Any]]] = []
        self._trigger = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._fetch_when_slot_frees = False
        self._paused = False
        self._stopping = False

    @property
    def running_count(self) -> int:
        return len(self._running)

    @property
    def paused(self) -> bool:
        return self._paused

    def trigger_fetch(self) -> None:
        """Ask for a fetch soon (an insert notification, a reconnection)."""
        self._trigger.set()

    def set_paused(self, paused: bool) -> None:
        if self._paused and not paused:
            self._trigger.set()
        self._paused = paused

    def cancel_job(self, job_id: int, reason: str) -> bool:
        running = self._running.get(job_id)
        if running is None:
            return False
        running.cancel(reason)
        return True

    async def _prepare(self) -> None:
        await self._register()
        self._stopping = False
        self._trigger.set()

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._loops = [
                group.create_task(self._fetch_loop(), name=f"{self.name}-fetch"),
                group.create_task(self._queue_loop(), name=f"{self.name}-queue"),
            ]

    async def _end(self, task: asyncio.Task[None]) -> None:
        self._stopping = True
        # The loops are stopped one by one: a task group cancels its members only once, and
        # one stuck in a database call must be cancelled again.
        await asyncio.gather(*(cancel_and_wait(loop) for loop in self._loops))
        await super()._end(task)

    async def wait_idle(self) -> None:
        # Jobs draining after a stop still hear cancels (River polls until its executors finish).
        while not await wait_event(self._idle, self._poll_interval):
            await self._poll_cancels()

    def cancel_all(self, reason: str = STOPPED) -> None:
        self._launch_pending()
        for running in list(self._running.values()):
            running.cancel(reason)

    def abandon_all(self) -> list[int]:
        """Stop waiting for the jobs still running, leaving them ``running`` for the rescuer;
        returns their IDs."""
        self._launch_pending()
        left = list(self._running)
        for running in list(self._running.values()):
            running.abandon()
        return left

    def close(self) -> None:
        self._threads.close()

    def _connection(
        self, what: str, *, pool_wait: float = POOL_WAIT
    ) -> AbstractAsyncContextManager[AsyncConnection[Any]]:
        return pooled(self._pool, self._timeout, f"producer {self.queue}: {what}", pool_wait=pool_wait)

    async def _register(self) -> None:
        # At start the pool may still be opening its first connection: wait the whole deadline.
        connection = self._connection("registering the queue", pool_wait=self._timeout)
        async with connection as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query("queue_create_or_set_updated_at", self._schema), {"name": self.queue})
            row = await cur.fetchone()
        self._paused = row is not None and row["paused_at"] is not None

    async def _queue_loop(self) -> None:
        outage = Outage(f"producer {self.queue}: queue poll")
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self._poll_interval)
            await self._poll_cancels()
            try:
                if time.monotonic() - last_refresh >= QUEUE_REFRESH_INTERVAL:
                    await self._register()
                    last_refresh = time.monotonic()
                else:
                    async with self._connection("polling the queue") as conn:
                        cur = await conn.execute(query("queue_get_paused", self._schema), {"name": self.queue})
                        row = await cur.fetchone()
                    if row is not None:
                        self.set_paused(bool(row[0]))
                outage.succeeded()
            except (psycopg.Error, OSError) as exc:
                outage.failed(exc)

    async def _poll_cancels(self) -> None:
        """Cancel the running jobs whose rows ask for it. Attempts are compared, not IDs: a job
        that ended meanwhile and runs again under the same ID is left alone."""
        self._cancels_polled = {i: r for i, r in self._cancels_polled.items() if self._running.get(i) is r}
        snapshot = {i: r for i, r in self._running.items() if self._cancels_polled.get(i) is not r}
        ids = list(snapshot)
        try:
            for start in range(0, len(ids), CANCEL_POLL_BATCH):
                async with self._connection("polling cancel requests") as conn:
                    cur = await conn.execute(
                        query("job_get_cancel_requested", self._schema), {"id": ids[start : start + CANCEL_POLL_BATCH]}
                    )
                    requested = [row[0] for row in await cur.fetchall()]
                for job_id in requested:
                    if self._running.get(job_id) is snapshot[job_id]:
                        self._cancels_polled[job_id] = snapshot[job_id]
                        self.cancel_job(job_id, CANCELLED_REMOTELY)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            logger.warning("producer %s: cancel poll failed: %s", self.queue, exc)

    def _poll_wait(self) -> float:
        interval = self.config.fetch_poll_interval.total_seconds()
        return interval + random.uniform(0, max(interval * JITTER_FRACTION, JITTER_MIN))

    async def _fetch_loop(self) -> None:
        cooldown = self.config.fetch_cooldown.total_seconds()
        last_fetch = -cooldown
        outage = Outage(f"producer {self.queue}: fetch")
        retry_in: float | None = None
        # Since when fetches failed after they may have locked jobs (monotonic), or None.
        unanswered_since: float | None = None
        while True:
            poll = self._poll_wait()
            await wait_event(self._trigger, poll if retry_in is None else min(retry_in, poll))
            self._trigger.clear()
            if self._paused:
                continue
            wait = last_fetch + cooldown - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            free = self.config.max_workers - self._active
            limit = min(free, FETCH_LIMIT_MAX)
            if limit <= 0:
                self._fetch_when_slot_frees = True
                continue
            await self._completer.wait_for_capacity()
            last_fetch = time.monotonic()
            try:
                rows = await self._fetch(limit, unanswered_since)
            except (psycopg.Error, OSError) as exc:
                # Whatever asked for this fetch still waits for it: retry soon.
                retry_in = outage.failed(exc)
                if unanswered_since is None and not is_statement_error(exc):
                    unanswered_since = last_fetch
                continue
            outage.succeeded()
            retry_in = unanswered_since = None
            if rows:
                self._launch_soon(rows)
            if len(rows) >= limit:
                if limit < free:
                    self._trigger.set()
                else:
                    self._fetch_when_slot_frees = True

    async def _fetch(self, limit: int, unanswered_since: float | None) -> list[dict[str, Any]]:
        async with self._connection("fetch") as conn, fast_json(conn.cursor(row_factory=dict_row)) as cur:
            rows: list[dict[str, Any]] = []
            if unanswered_since is not None:
                rows = await self._take_back(cur, time.monotonic() - unanswered_since + TAKE_BACK_MARGIN)
            if len(rows) < limit:
                began = time.monotonic()
                await cur.execute(
                    self._fetch_sql,
                    {"queue": self.queue, "max_to_lock": limit - len(rows), "client_id": self._client_id},
                )
                fetched = await cur.fetchall()
                if self._metric_sinks:
                    self._emit(
                        JobGetAvailableMetric(self.queue, timedelta(seconds=time.monotonic() - began), len(fetched))
                    )
                rows.extend(fetched)
            return rows

    def _emit(self, metric: JobGetAvailableMetric) -> None:
        for sink in self._metric_sinks:
            try:
                sink.metric_emit(metric)
            except Exception:
                logger.exception("producer %s: metric_emit of %r failed", self.queue, sink)

    async def _take_back(self, cur: AsyncCursor[dict[str, Any]], within: float) -> list[dict[str, Any]]:
        """The jobs that a fetch whose answer was lost locked for this client (running under
        its ID, locked since the fetch, known neither to this producer nor to the completer)."""
        await cur.execute(self._take_back_sql, {"queue": self.queue, "client_id": self._client_id, "within": within})
        lost = [r for r in await cur.fetchall() if r["id"] not in self._running and not self._completer.knows(r["id"])]
        if lost:
            logger.warning(
                "producer %s: taking back %d jobs a fetch locked without its answer arriving: %s",
                self.queue, len(lost), ", ".join(str(r["id"]) for r in lost),
            )  # fmt: skip
        return lost

    def _launch_soon(self, rows: list[dict[str, Any]]) -> None:
        """Take the slots of ``rows`` now and start their jobs at the loop's next turn: by
        then the next fetch, if any, has been sent."""
        for row in rows:
            self._completer.track(row)
        self._active += len(rows)
        self._unlaunched.append(rows)
        self._idle.clear()
        asyncio.get_running_loop().call_soon(self._launch_pending)

    def _launch_pending(self) -> None:
        """Make the tasks of every fetched batch not launched yet (a stop that cancels or
        abandons every job first launches what is pending, so that none escapes it)."""
        while self._unlaunched:
            for row in self._unlaunched.pop(0):
                self._launch(row)
        if not self._running:
            self._idle.set()

    def _launch(self, row: dict[str, Any]) -> None:
        try:
            job = Job.from_row(row)
        except Exception as exc:
            # Someone else's unreadable row fails on its own; it never takes down the batch.
            self._active -= 1
            self._completer.add(_unreadable(row, exc))
            return
        running = Running(JobContext(job))
        self._running[job.id] = running
        task = asyncio.create_task(self._run_job(job, running), name=f"riverboat-job-{job.id}")
        running.task = task

    async def _run_job(self, job: Job, running: Running) -> None:
        try:
            completion = await self._executor.execute(job, running, self._threads, self._on_stuck)
            self._completer.add(completion)
        except asyncio.CancelledError:
            logger.warning(
                "job left running for the rescuer: kind=%s id=%d queue=%s attempt=%d (the client stopped "
                "before it returned)",
                job.kind, job.id, job.queue, job.attempt,
                extra={"job_id": job.id, "job_kind": job.kind, "queue": job.queue, "attempt": job.attempt},
            )  # fmt: skip
        finally:
            del self._running[job.id]
            if running.stuck:
                self._unstuck(job, running)
            if not running.slot_released:
                self._active -= 1
            if not self._running and not self._unlaunched:
                self._idle.set()
            if self._fetch_when_slot_frees and not self._stopping:
                self._fetch_when_slot_frees = False
                self._trigger.set()

    def _on_stuck(self, running: Running, after: float) -> None:
        """A job passed its timeout by the stuck threshold and is still running (River's
        stuck-job detection): log it, count it, and ask the handler for a worker slot."""
        job = running.context.job
        running.stuck = True
        total = self._stuck_jobs.add()
        logger.warning(
            "job appears stuck: kind=%s id=%d queue=%s attempt=%d still running %.1f s after it started, "
            "past its timeout; %d stuck in this client",
            job.kind, job.id, job.queue, job.attempt, after, total,
            extra={"job_id": job.id, "job_kind": job.kind, "queue": job.queue, "attempt": job.attempt},
        )  # fmt: skip
        result = self._stuck_jobs.ask(JobStuckInfo(id=job.id, kind=job.kind, queue=job.queue, total_stuck_jobs=total))
        if result is not None and result.add_worker_slot and not running.slot_released:
            running.slot_released = True
            self._active -= 1
            self._trigger.set()

    def _unstuck(self, job: Job, running: Running) -> None:
        self._stuck_jobs.remove()
        logger.info(
            "stuck job finished: kind=%s id=%d queue=%s attempt=%d",
            job.kind, job.id, job.queue, job.attempt,
            extra={"job_id": job.id, "job_kind": job.kind, "queue": job.queue, "attempt": job.attempt},
        )  # fmt: skip


def _unreadable(row: dict[str, Any], exc: Exception) -> Completion:
    now = datetime.now(UTC)
    attempt = int(row.get("attempt") or 0)
    error = AttemptError(at=now, attempt=attempt, error=BAD_ROW.format(error=exc), trace="")
    return decide(
        job_id=int(row["id"]),
        attempt=attempt,
        max_attempts=int(row.get("max_attempts") or 1),
        metadata={},
        outcome=Discarded(error),
        metadata_updates={},
        duration=timedelta(0),
        now=now,
    )
