"""What a client runs when it works jobs: the runtime (producers, executor, completer,
listener), the leader elector and the leader's maintenance services
(spec/06-fetch.md, spec/10-leadership.md, spec/11-maintenance.md).

``Working`` is built at ``start`` from an open pool and the client's ``WorkSettings``; the
public clients in ``riverboat.client`` forward to it. ``serve`` runs a client until a stop
is requested or a signal arrives (``Client.run`` and ``riverboat work``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from riverboat._db import pooled
from riverboat._leader import Elector
from riverboat._maintenance.job_cleaner import JobCleanerConfig
from riverboat._maintenance.job_rescuer import JobRescuerConfig
from riverboat._maintenance.queue_maintainer import QueueMaintainer, standard_services
from riverboat._notify import Topic
from riverboat._retry import RetryPolicy
from riverboat._runtime import Runtime
from riverboat._service import ConnectionSource, Lifecycle
from riverboat._settings import WorkSettings
from riverboat.contract import Contract
from riverboat.errors import ValidationError
from riverboat.job import Job
from riverboat.middleware import Hook, Middleware
from riverboat.periodic import PeriodicInsert
from riverboat.worker import resolve_timeout

logger = logging.getLogger("riverboat")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

InsertPeriodic = Callable[[Sequence[PeriodicInsert]], Awaitable[object]]


class Working:
    """One start-to-stop run of a working client."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[Any],
        schema: str | None,
        settings: WorkSettings,
        contract: Contract | None,
        insert_periodic: InsertPeriodic,
        middleware: Sequence[Middleware] = (),
        hooks: Sequence[Hook] = (),
        client: Any = None,
    ) -> None:
        if not isinstance(pool.conninfo, str):
            raise ValidationError(
                "pool", "type", "must have a conninfo string (the listener opens its own connection)", pool
            )
        self.elector: Elector | None = None
        services: list[Lifecycle] = []
        timeouts = settings.database_timeouts
        if settings.leader_election:
            self.elector = Elector(
                connect=_timed(pool, timeouts.leader.total_seconds(), "leader"),
                client_id=settings.client_id,
                schema=schema,
            )
            maintainer = QueueMaintainer(
                elector=self.elector,
                services=standard_services(
                    connect=_timed(pool, timeouts.maintenance.total_seconds(), "maintenance"),
                    schema=schema,
                    next_retry=self._next_retry_now(settings.retry_policy),
                    is_known_kind=settings.workers.__contains__,
                    timeout_of=self._timeout_of(settings),
                    periodic_jobs=settings.periodic_jobs,
                    insert_many=insert_periodic,
                    rescuer=JobRescuerConfig(rescue_stuck_jobs_after=settings.rescue_stuck_jobs_after),
                    cleaner=JobCleanerConfig(
                        completed_job_retention=settings.completed_job_retention,
                        cancelled_job_retention=settings.cancelled_job_retention,
                        discarded_job_retention=settings.discarded_job_retention,
                    ),
                ),
            )
            # Services stop in reverse: maintenance ends before leadership is given up.
            services = [self.elector, maintainer]
        self.runtime = Runtime(
            pool=pool,
            listener_conninfo=pool.conninfo,
            settings=settings,
            schema=schema,
            services=services,
            contract=contract,
            middleware=middleware,
            hooks=hooks,
            client=client,
        )
        if self.elector is not None:
            self.runtime.listener.subscribe(Topic.LEADERSHIP, self._on_leadership)

    @staticmethod
    def _timeout_of(settings: WorkSettings) -> Callable[[str], float | None]:
        """A kind's job timeout as the executor applies it, for the rescuer."""

        def timeout_of(kind: str) -> float | None:
            worker = settings.workers.get(kind)
            return resolve_timeout(None if worker is None else worker.timeout, settings.job_timeout)

        return timeout_of

    @staticmethod
    def _next_retry_now(policy: RetryPolicy) -> Callable[[Job], datetime]:
        return lambda job: policy.next_retry(job, datetime.now(UTC))

    def _on_leadership(self, payload: str) -> None:
        try:
            decoded = json.loads(payload)
        except ValueError:
            logger.warning("ignoring a leadership notification that is not JSON: %r", payload)
            return
        if isinstance(decoded, dict) and self.elector is not None:
            self.elector.handle_notification(decoded)

    async def start(self) -> None:
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()

    async def stop_and_cancel(self) -> None:
        await self.runtime.stop_and_cancel()


def _timed(pool: AsyncConnectionPool[Any], seconds: float, what: str) -> ConnectionSource:
    """Connections from ``pool`` for units of work that each give up after ``seconds``."""
    return lambda: pooled(pool, seconds, what)


class Workable(Lifecycle, Protocol):
    """A working client, as ``serve`` drives it."""

    async def stop_and_cancel(self) -> None: ...


async def serve(
    client: Workable,
    requests: asyncio.Queue[bool],
    *,
    handle_signals: bool,
) -> None:
    """Work with ``client`` until a stop is requested: ``False`` on ``requests`` stops softly,
    ``True`` cancels running jobs (also while a soft stop waits for them). With
    ``handle_signals`` (main thread only), the first SIGINT/SIGTERM requests a soft stop
    and any later one a cancel."""
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        # Asked for before it is announced: a closed stderr (a supervisor gone) must not stop the stop.
        requests.put_nowait(signals > 1)
        if signals == 1:
            logger.info("stopping (running jobs finish; signal again to cancel them)")
        else:
            logger.info("cancelling running jobs")

    installed = handle_signals and threading.current_thread() is threading.main_thread()
    if installed:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal)
    try:
        await client.start()
        cancel = await requests.get()
        stopping = asyncio.ensure_future(client.stop_and_cancel() if cancel else client.stop())
        while not stopping.done():
            request = asyncio.ensure_future(requests.get())
            await asyncio.wait({stopping, request}, return_when=asyncio.FIRST_COMPLETED)
            if not request.done():
                request.cancel()
            elif request.result():
                await client.stop_and_cancel()
        await stopping
    finally:
        if installed:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)


def freeze_startup_objects() -> None:
    """For a process that exists to work jobs, once it has started up: keep everything
    allocated so far (modules, the user's code, the client) out of later garbage
    collections. Otherwise every full collection rescans them while jobs churn short-lived
    objects, 10 to 15 % of a busy worker's CPU time in bench/RESULTS.md. Not done by the
    client itself: in an application's own process that is the application's call."""
    gc.freeze()
