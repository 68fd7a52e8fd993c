"""The one lifecycle of riverboat's long-running parts (producers, completer, listener,
elector, maintenance, the runtime that holds them).

Every part has ``async start()`` and ``async stop()`` (the ``Lifecycle`` protocol):
starting a started part and stopping a stopped one do nothing. Parts are started with
``start_all``, which stops the parts it already started when a later one fails to start,
so a failed start leaves nothing running. Stopping never waits on the network: a task
still running ``STOP_GRACE`` after it was cancelled is cancelled again, which makes psycopg
close a connection it was still trying to cancel a statement on.

Most parts are a ``Service``: one named asyncio task running ``_run()``, supervised so that
no exception in it is lost: an unexpected one is logged with its traceback and ``_run``
starts again after a backoff (a worker must not silently stop fetching because one loop
died). ``IntervalService`` is a service calling ``run_once()`` every ``interval`` after a
random start stagger (so a fleet of clients does not hit the database in lockstep);
``run_once()`` returns a small result so tests can drive a service without its loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

import psycopg

from riverboat._conninfo import with_connection_defaults
from riverboat._db import Outage, is_database_error

logger = logging.getLogger("riverboat")

R = TypeVar("R")

# Spreads services started together over one second, as River's maintenance services do.
START_STAGGER_MAX = timedelta(seconds=1)
# How long a service whose loop failed unexpectedly waits before running it again.
RESTART_BACKOFF_START = 1.0
RESTART_BACKOFF_MAX = 30.0
#: How long a cancelled task may take to end before it is cancelled again.
STOP_GRACE = 1.0

ConnectionSource = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]
"""Gives a connection for one unit of work: ``AsyncConnectionPool.connection`` fits, as does
``connect_each_time(url)``."""


def connect_each_time(conninfo: str) -> ConnectionSource:
    """A ``ConnectionSource`` that opens a fresh autocommit connection per use (with
    riverboat's connection defaults)."""
    conninfo = with_connection_defaults(conninfo)

    @asynccontextmanager
    async def source() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            yield conn

    return source


class Lifecycle(Protocol):
    """A part that runs between ``start()`` and ``stop()``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def start_all(parts: Sequence[Lifecycle]) -> None:
    """Start ``parts`` in order. If one fails to start, those already started are stopped
    (last first) and the error is raised: nothing is left running."""
    started: list[Lifecycle] = []
    try:
        for part in parts:
            await part.start()
            started.append(part)
    except BaseException:
        await stop_all(list(reversed(started)))
        raise


async def stop_all(parts: Sequence[Lifecycle]) -> None:
    """Stop ``parts`` in order; one that fails to stop is logged and the others still stop."""
    for part in parts:
        await _stop_logged(part)


async def stop_together(parts: Sequence[Lifecycle]) -> None:
    """Stop ``parts`` at the same time (their stops don't depend on each other)."""
    await asyncio.gather(*(_stop_logged(part) for part in parts))


async def _stop_logged(part: Lifecycle) -> None:
    try:
        await part.stop()
    except Exception:
        logger.exception("stopping %s failed", getattr(part, "name", type(part).__name__))


class Service(ABC):
    """A part that is one supervised, named asyncio task running ``_run()``."""

    #: Name of the asyncio task and of the service in logs.
    name: str = "riverboat-service"

    _task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the task; starting a started service does nothing. ``_prepare`` runs first,
        so a service whose preparation fails is not started."""
        if self.running:
            return
        await self._prepare()
        self._task = asyncio.create_task(self._supervise(), name=self.name)

    async def stop(self) -> None:
        """Stop the task and wait for it to end; stopping a stopped service does nothing."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._end(task)
        await self._after_stop()

    async def _prepare(self) -> None:
        """Work to do before the task starts (register a queue, read a setting)."""
        return None

    async def _end(self, task: asyncio.Task[None]) -> None:
        """End the task: by default it is cancelled. Services that drain override this."""
        await cancel_and_wait(task)

    async def _after_stop(self) -> None:
        """Clean up once the task has ended."""
        return None

    @abstractmethod
    async def _run(self) -> None:
        """The service's work; returns when the service is done."""

    async def _supervise(self) -> None:
        backoff = RESTART_BACKOFF_START
        while True:
            try:
                await self._run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s: failed unexpectedly; restarting in %.0f s", self.name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end, cancelling it again every ``STOP_GRACE`` it
    takes; what it raised while ending is logged, not lost."""
    task.cancel()
    while not (await asyncio.wait({task}, timeout=STOP_GRACE))[0]:
        logger.warning(
            "%s: still running %.0f s after being cancelled; cancelling it again", task.get_name(), STOP_GRACE
        )
        task.cancel()
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("%s: failed while stopping", task.get_name(), exc_info=exc)


class IntervalService(Service, Generic[R]):
    """A service calling ``run_once()`` every ``interval`` after a random start stagger. An
    exception from ``run_once()`` is logged and the loop carries on: maintenance must
    survive a bad row or a dropped connection."""

    def __init__(self, *, stagger: bool = True) -> None:
        self._stagger = stagger
        self._outage = Outage(self.name)

    @property
    @abstractmethod
    def interval(self) -> timedelta:
        """How long the loop waits between runs."""

    @abstractmethod
    async def run_once(self) -> R:
        """Do one round of work and say what was done."""

    async def _wait_stagger(self) -> None:
        if self._stagger:
            await asyncio.sleep(random.uniform(0, START_STAGGER_MAX.total_seconds()))

    async def _run(self) -> None:
        await self._wait_stagger()
        while True:
            await self._run_logged()
            await asyncio.sleep(self.interval.total_seconds())

    async def _run_logged(self) -> R | None:
        try:
            result = await self.run_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_database_error(exc):
                self._outage.failed(exc)
            else:
                logger.exception("%s: run failed; retrying after %s", self.name, self.interval)
            return None
        self._outage.succeeded()
        return result


class TaskSet:
    """Fire-and-forget tasks, kept referenced until they end; what one raises is logged
    (never "Task exception was never retrieved")."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, awaitable: Any, name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(awaitable)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("%s: %s failed", self._owner, task.get_name(), exc_info=exc)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
