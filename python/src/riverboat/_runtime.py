"""Everything a working client runs (spec/06-fetch.md, spec/07-complete.md,
spec/09-notifications.md): a producer per queue, the executor, the batch completer, the
listener, and any extra services (leader elector, maintenance) started with it.

The public ``Client`` builds one ``Runtime`` and forwards ``start``/``stop``/``stop_and_cancel``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from riverboat._complete import BatchCompleter
from riverboat._execute import CANCELLED_REMOTELY, Completion, JobExecutor
from riverboat._fetch import Producer
from riverboat._listener import Listener
from riverboat._notify import CancelNotice, PauseNotice, Topic, parse_control, parse_insert
from riverboat._queries import query
from riverboat._retry import DefaultRetryPolicy, RetryPolicy
from riverboat.contract import Contract
from riverboat.errors import ValidationError
from riverboat.events import Event, EventKind, Events
from riverboat.job import Job
from riverboat.worker import QueueConfig, Workers

logger = logging.getLogger("riverboat")

CLIENT_ID_MAX_LENGTH = 100
HOSTNAME_MAX_LENGTH = 60
JOB_TIMEOUT_DEFAULT = timedelta(minutes=1)
QUEUE_NAME = re.compile(r"^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$")
QUEUE_NAME_MAX_LENGTH = 64

_EVENT_BY_STATE = {"completed": EventKind.COMPLETED, "cancelled": EventKind.CANCELLED, "discarded": EventKind.DISCARDED}


class ExtraService(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def default_client_id(host: str, now: datetime) -> str:
    """River's default: host name (dots to underscores, at most 60 characters), "_", and the
    UTC start time as 2006_01_02T15_04_05_000000."""
    return host.replace(".", "_")[:HOSTNAME_MAX_LENGTH] + "_" + now.astimezone(UTC).strftime("%Y_%m_%dT%H_%M_%S_%f")


def validate_queues(queues: Mapping[str, QueueConfig]) -> None:
    for name, config in queues.items():
        if not isinstance(name, str) or len(name) > QUEUE_NAME_MAX_LENGTH or not QUEUE_NAME.match(name):
            raise ValidationError(
                "queue", "must be lowercase alphanumerics with single _, - or | separators, <= 64", name
            )
        if not isinstance(config, QueueConfig):
            raise ValidationError(f"queues[{name!r}]", "must be a QueueConfig", config)


class Runtime:
    """Works jobs of ``queues`` with ``workers``.

    ``pool``: an open ``AsyncConnectionPool`` (fetch, completion, queue rows).
    ``listener_conninfo``: conninfo for the dedicated LISTEN connection (unused if ``poll_only``).
    ``schema``: where River's tables are; ``None`` asks the database for ``current_schema()``.
    ``client_id``: at most 100 characters; default host name + start time, like River.
    ``retry_policy``: the client's; per-worker ``next_retry`` overrides it.
    ``job_timeout``: default per-job timeout (1 minute); negative means none.
    ``soft_stop_timeout``: how long ``stop`` waits for running jobs before cancelling them
    (``None``: wait indefinitely).
    ``poll_only``: no LISTEN (for PgBouncer transaction pooling); fetches rely on polling.
    ``contract``: args of its kinds are checked before work (a worker's own ``contract`` wins).
    ``services``: objects with ``async start()``/``stop()``, started after the runtime's own
    machinery and stopped before it.
    """

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[Any],
        listener_conninfo: str,
        queues: Mapping[str, QueueConfig],
        workers: Workers,
        schema: str | None = None,
        client_id: str | None = None,
        retry_policy: RetryPolicy | None = None,
        job_timeout: timedelta = JOB_TIMEOUT_DEFAULT,
        soft_stop_timeout: timedelta | None = None,
        poll_only: bool = False,
        services: Sequence[ExtraService] = (),
        events: Events | None = None,
        contract: Contract | None = None,
    ) -> None:
        validate_queues(queues)
        if not isinstance(workers, Workers):
            raise ValidationError("workers", "must be a riverboat.worker.Workers", workers)
        chosen_id = client_id if client_id is not None else default_client_id(socket.gethostname(), datetime.now(UTC))
        if not isinstance(chosen_id, str) or not 0 < len(chosen_id) <= CLIENT_ID_MAX_LENGTH:
            raise ValidationError("client_id", f"must be 1 to {CLIENT_ID_MAX_LENGTH} characters", chosen_id)
        if not isinstance(job_timeout, timedelta) or job_timeout == timedelta(0):
            raise ValidationError("job_timeout", "must be a non-zero timedelta (negative: no timeout)", job_timeout)
        self.pool = pool
        self.client_id = chosen_id
        self.queues = dict(queues)
        self.workers = workers
        self.events = events if events is not None else Events()
        self.poll_only = poll_only
        self.soft_stop_timeout = soft_stop_timeout
        self._listener_conninfo = listener_conninfo
        self._configured_schema = schema
        self._services = list(services)
        self._executor = JobExecutor(
            workers=workers,
            retry_policy=retry_policy or DefaultRetryPolicy(),
            job_timeout=job_timeout,
            contract=contract,
        )
        self.schema: str | None = schema
        self.completer: BatchCompleter | None = None
        self.producers: dict[str, Producer] = {}
        #: Subscribe here (``listener.subscribe(topic, callback)``) for raw payloads; in
        #: poll-only mode nothing arrives. Services may subscribe before ``start``.
        self.listener: Listener = Listener(conninfo=listener_conninfo, schema=schema or "public")
        self._started = False
        self._cancel_requested = False

    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        if self._started:
            return
        if self._configured_schema is None:
            async with self.pool.connection() as conn:
                row = await (await conn.execute(query("current_schema", None))).fetchone()
            self.schema = row[0] if row and row[0] else "public"
            self.listener.schema = self.schema
        self.completer = BatchCompleter(
            pool=self.pool,
            schema=self._configured_schema,
            on_completed=self._completed,
            wants_rows=self.events.__bool__,
        )
        await self.completer.start()
        self.producers = {
            name: Producer(
                queue=name,
                config=config,
                pool=self.pool,
                schema=self._configured_schema,
                client_id=self.client_id,
                executor=self._executor,
                completer=self.completer,
            )
            for name, config in self.queues.items()
        }
        if not self.poll_only:
            self.listener.subscribe(Topic.INSERT, self._on_insert)
            self.listener.subscribe(Topic.CONTROL, self._on_control)
            self.listener.on_reconnect(self._on_reconnect)
            await self.listener.start()
        for producer in self.producers.values():
            await producer.start()
        for service in self._services:
            await service.start()
        self._started = True

    async def stop(self) -> None:
        """Soft stop: no more fetching; wait for running jobs (cancelling them after
        ``soft_stop_timeout``); flush completions; stop everything."""
        await self._stop(cancel=False)

    async def stop_and_cancel(self) -> None:
        """Stop at once: running jobs are cancelled (and retried later), completions flushed."""
        await self._stop(cancel=True)

    def cancel_job(self, job_id: int, reason: str = CANCELLED_REMOTELY) -> bool:
        """Cancel a job this runtime is working (what a river_control cancel does)."""
        return any(p.cancel_job(job_id, reason) for p in self.producers.values())

    @property
    def running_count(self) -> int:
        return sum(p.running_count for p in self.producers.values())

    async def _stop(self, *, cancel: bool) -> None:
        if not self._started:
            if cancel:
                # A stop is already waiting for jobs: cancelling them lets it finish.
                self._cancel_requested = True
                for producer in self.producers.values():
                    producer.cancel_all()
            return
        self._started = False
        # Fetching stops first, so no job starts while services wind down.
        for producer in self.producers.values():
            await producer.stop_fetching()
        for service in reversed(self._services):
            try:
                await service.stop()
            except Exception:
                logger.exception("stopping %r failed", service)
        if cancel or self._cancel_requested:
            for producer in self.producers.values():
                producer.cancel_all()
        idle = asyncio.gather(*(p.wait_idle() for p in self.producers.values()))
        timeout = None if self.soft_stop_timeout is None else self.soft_stop_timeout.total_seconds()
        try:
            await asyncio.wait_for(asyncio.shield(idle), timeout)
        except TimeoutError:
            for producer in self.producers.values():
                producer.cancel_all()
            await idle
        if not self.poll_only:
            await self.listener.stop()
        if self.completer is not None:
            await self.completer.stop()
        for producer in self.producers.values():
            producer.close()

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

    def _completed(self, completion: Completion, job: Job) -> None:
        if not self.events:
            return
        kind = _EVENT_BY_STATE.get(job.state.value, completion.outcome)
        self.events.emit(Event(kind=kind, job=job, duration=completion.duration))
