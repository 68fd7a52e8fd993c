"""Everything a working client runs (spec/06-fetch.md, spec/07-complete.md,
spec/09-notifications.md): a producer per queue, the executor, the batch completer, the
listener, and any extra services (leader elector, maintenance) started with it.

The public ``Client`` builds one ``Runtime`` (through ``riverboat._working``) and forwards
``start``/``stop``/``stop_and_cancel``. Settings arrive validated (``riverboat._settings``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riverboat._complete import BatchCompleter
from riverboat._completion import Completion
from riverboat._db import pooled
from riverboat._defaults import THREAD_STOP_WAIT_DEFAULT
from riverboat._execute import CANCELLED_REMOTELY, JobExecutor
from riverboat._fetch import Producer
from riverboat._listener import Listener
from riverboat._notify import CancelNotice, PauseNotice, Topic, parse_control, parse_insert
from riverboat._queries import query
from riverboat._service import Lifecycle, start_all, stop_all, stop_together
from riverboat._settings import WorkSettings
from riverboat.contract import Contract
from riverboat.events import Event, event_kind
from riverboat.job import Job
from riverboat.middleware import Hook, Middleware, metric_sinks
from riverboat.worker import StuckJobs

logger = logging.getLogger("riverboat")

#: How long a hard stop waits for jobs it cancelled; ``def`` workers' threads can't be
#: interrupted, and a job whose thread is still running then stays ``running``.
THREAD_STOP_WAIT = THREAD_STOP_WAIT_DEFAULT.total_seconds()


class Runtime:
    """Works jobs of ``settings.queues`` with ``settings.workers``.

    ``pool``: an open ``AsyncConnectionPool`` (fetch, completion, queue rows).
    ``listener_conninfo``: conninfo for the dedicated LISTEN connection (unused if ``poll_only``).
    ``schema``: where River's tables are; ``None`` asks the database for ``current_schema()``.
    ``contract``: args of its kinds are checked before work (a worker's own ``contract`` wins).
    ``services``: more parts (elector, maintenance), started after the runtime's own
    machinery and stopped before it. ``middleware`` and ``hooks``: the client's, around
    every job. ``client``: the client working the jobs (``riverboat.current_client()``).
    """

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[Any],
        listener_conninfo: str,
        settings: WorkSettings,
        schema: str | None = None,
        contract: Contract | None = None,
        services: Sequence[Lifecycle] = (),
        middleware: Sequence[Middleware] = (),
        hooks: Sequence[Hook] = (),
        client: Any = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.client_id = settings.client_id
        self.events = settings.events
        self._configured_schema = schema
        self._services = list(services)
        self._executor = JobExecutor(
            workers=settings.workers,
            retry_policy=settings.retry_policy,
            job_timeout=settings.job_timeout,
            contract=contract,
            middleware=middleware,
            hooks=hooks,
            error_handler=settings.error_handler,
            stuck_threshold=settings.job_stuck_threshold,
            client=client,
        )
        stuck_jobs = StuckJobs(settings.job_stuck_handler)
        self.schema: str | None = schema
        timeouts = settings.database_timeouts
        self._work_seconds = timeouts.work.total_seconds()
        self.completer = BatchCompleter(
            pool=pool,
            schema=schema,
            on_completed=self._completed,
            wants_rows=self.events.__bool__,
            on_written=self._written,
            timeout=self._work_seconds,
        )
        self.producers: dict[str, Producer] = {
            name: Producer(
                queue=name,
                config=config,
                pool=pool,
                schema=schema,
                client_id=settings.client_id,
                executor=self._executor,
                completer=self.completer,
                stuck_jobs=stuck_jobs,
                poll_only=settings.poll_only,
                timeout=self._work_seconds,
                metric_sinks=metric_sinks(middleware, hooks),
            )
            for name, config in settings.queues.items()
        }
        #: Subscribe here (``listener.subscribe(topic, callback)``) for raw payloads; in
        #: poll-only mode nothing arrives. Services may subscribe before ``start``.
        self.listener = Listener(
            conninfo=listener_conninfo, schema=schema or "public", timeout=timeouts.listener.total_seconds()
        )
        if not settings.poll_only:
            self.listener.subscribe(Topic.INSERT, self._on_insert)
            self.listener.subscribe(Topic.CONTROL, self._on_control)
            self.listener.on_reconnect(self._on_reconnect)
        self._started = False
        self._cancel_now = asyncio.Event()

    @property
    def started(self) -> bool:
        return self._started

    def _parts(self) -> list[Lifecycle]:
        """Everything started, in order: completions can be written before any job runs,
        notifications are heard before the first fetch, services come last."""
        listener: list[Lifecycle] = [] if self.settings.poll_only else [self.listener]
        return [self.completer, *listener, *self.producers.values(), *self._services]

    async def start(self) -> None:
        if self._started:
            return
        if self._configured_schema is None:
            seconds = self._work_seconds
            async with pooled(self.pool, seconds, "reading the current schema", pool_wait=seconds) as conn:
                row = await (await conn.execute(query("current_schema", None))).fetchone()
            self.schema = row[0] if row and row[0] else "public"
            self.listener.schema = self.schema
        await start_all(self._parts())
        self._started = True

    async def stop(self) -> None:
        """Soft stop: no more fetching; wait for running jobs (cancelling them after
        ``soft_stop_timeout``); flush completions; stop everything."""
        await self._stop(cancel=False)

    async def stop_and_cancel(self) -> None:
        """Stop at once: running jobs are cancelled (and retried later), completions flushed
        (for ``HURRY_DEADLINE`` at most if the database doesn't take them)."""
        await self._stop(cancel=True)

    def cancel_job(self, job_id: int, reason: str = CANCELLED_REMOTELY) -> bool:
        """Cancel a job this runtime is working (what a river_control cancel does)."""
        return any(p.cancel_job(job_id, reason) for p in self.producers.values())

    @property
    def running_count(self) -> int:
        return sum(p.running_count for p in self.producers.values())

    async def _stop(self, *, cancel: bool) -> None:
        if cancel:
            self.completer.hurry()
        if not self._started:
            # A stop is already waiting for jobs: cancelling them lets it finish.
            if cancel:
                self._cancel_now.set()
            return
        self._started = False
        self._cancel_now.clear()
        # Fetching stops first, so no job starts while services wind down.
        await stop_together(list(self.producers.values()))
        await stop_all(list(reversed(self._services)))
        await self._wait_for_jobs(cancel=cancel)
        await stop_together([self.listener, self.completer])
        for producer in self.producers.values():
            producer.close()

    async def _wait_for_jobs(self, *, cancel: bool) -> None:
        """Soft: wait for running jobs (up to ``soft_stop_timeout``, or until a cancel is
        asked). Then cancel them and wait a bounded time; jobs still running after that
        (``def`` workers whose threads didn't return) stay ``running`` for the rescuer."""
        idle: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(p.wait_idle() for p in self.producers.values()))
        )
        try:
            if not cancel:
                asked: asyncio.Future[Any] = asyncio.ensure_future(self._cancel_now.wait())
                soft = self.settings.soft_stop_timeout
                await asyncio.wait(
                    {idle, asked},
                    timeout=None if soft is None else soft.total_seconds(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                asked.cancel()
                if idle.done():
                    return
            for producer in self.producers.values():
                producer.cancel_all()
            await asyncio.wait({idle}, timeout=THREAD_STOP_WAIT)
            if idle.done():
                return
            left = [job_id for producer in self.producers.values() for job_id in producer.abandon_all()]
            logger.warning(
                "stopped with %d jobs still running after %.0f s; they stay running for the rescuer: %s",
                len(left), THREAD_STOP_WAIT, left,
            )  # fmt: skip
            await idle
        finally:
            idle.cancel()

    def _on_insert(self, payload: str) -> None:
        notice = parse_insert(payload)
        if notice is not None and (producer := self.producers.get(notice.queue)) is not None:
            producer.trigger_fetch()

    def _on_control(self, payload: str) -> None:
        notice = parse_control(payload)
        if isinstance(notice, CancelNotice):
            producer = self.producers.get(notice.queue)
            if producer is not None:
                producer.cancel_job(notice.job_id, CANCELLED_REMOTELY)
        elif isinstance(notice, PauseNotice):
            for name, producer in self.producers.items():
                if notice.applies_to(name):
                    producer.set_paused(notice.paused)

    def _on_reconnect(self) -> None:
        for producer in self.producers.values():
            producer.trigger_fetch()

    def _written(self, batch: list[Completion]) -> None:
        self.events.count_written(c.outcome for c in batch)

    def _completed(self, completion: Completion, job: Job) -> None:
        if self.events:
            self.events.emit(
                Event(kind=event_kind(job.state, completion.outcome), job=job, duration=completion.duration)
            )
