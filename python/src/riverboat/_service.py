"""The one shape of riverboat's background services (elector, maintenance, enqueuers).

A service is built with keyword-only collaborators and a frozen config; ``start()``
launches one named asyncio task that waits a random stagger (so a fleet of clients does
not hit the database in lockstep), then calls ``run_once()`` every ``interval``.
``run_once()`` returns a small result so tests can drive a service without its loop.
An exception from ``run_once()`` is logged and the loop carries on: maintenance must
survive a bad row or a dropped connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, Generic, TypeVar

import psycopg

from riverboat.errors import ValidationError

logger = logging.getLogger("riverboat")

R = TypeVar("R")

# Spreads services started together over one second, as River's maintenance services do.
START_STAGGER_MAX = timedelta(seconds=1)

ConnectionSource = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]
"""Gives a connection for one unit of work: ``AsyncConnectionPool.connection`` fits, as does
``connect_each_time(url)``."""


def connect_each_time(conninfo: str) -> ConnectionSource:
    """A ``ConnectionSource`` that opens a fresh autocommit connection per use."""

    @asynccontextmanager
    async def source() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            yield conn

    return source


def require_positive(field: str, value: timedelta) -> None:
    """Raise ``ValidationError`` unless ``value`` is a positive duration."""
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(field, "must be a positive timedelta", value)


def require_batch_size(field: str, value: int) -> None:
    """Raise ``ValidationError`` unless ``value`` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, "must be an integer >= 1", value)


class Service(ABC, Generic[R]):
    """Base of every background service: a named task calling ``run_once`` on an interval."""

    #: Name of the asyncio task and of the service in logs.
    name: str = "riverboat-service"

    def __init__(self, *, stagger: bool = True) -> None:
        self._stagger = stagger
        self._task: asyncio.Task[None] | None = None

    @property
    @abstractmethod
    def interval(self) -> timedelta:
        """How long the loop waits between runs."""

    @abstractmethod
    async def run_once(self) -> R:
        """Do one round of work and say what was done."""

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the loop; starting a started service does nothing."""
        if self.running:
            return
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop the loop and wait for it to end; stopping a stopped service does nothing."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        await self._after_stop()

    async def _after_stop(self) -> None:
        """Hook for services that must clean up once their loop has ended."""

    async def _wait_stagger(self) -> None:
        if self._stagger:
            await asyncio.sleep(random.uniform(0, START_STAGGER_MAX.total_seconds()))

    async def _loop(self) -> None:
        await self._wait_stagger()
        while True:
            await self._run_logged()
            await asyncio.sleep(self.interval.total_seconds())

    async def _run_logged(self) -> R | None:
        try:
            return await self.run_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: run failed; retrying after %s", self.name, self.interval)
            return None
