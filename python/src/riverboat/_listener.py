"""The listener (spec/09-notifications.md#listener): one dedicated connection LISTENing on
``<schema>.river_insert``, ``<schema>.river_control`` and ``<schema>.river_leadership``,
handing payloads to subscribers by topic. Connecting, LISTEN and the ping of a quiet
connection each have a deadline, so a half-open connection is noticed within
``PING_INTERVAL`` plus the deadline. After a drop it reconnects with a backoff of at most
a second; the producers' polling keeps work flowing meanwhile, and subscribers to
``on_reconnect`` catch up on what was missed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import sql

from riverboat._conninfo import with_connection_defaults
from riverboat._db import Outage, db_deadline
from riverboat._defaults import DATABASE_TIMEOUT_LISTENER_DEFAULT
from riverboat._notify import Topic, channel, topic_of
from riverboat._service import Service, TaskSet
from riverboat._waiting import wait_event

logger = logging.getLogger("riverboat")

#: A connection quiet this long is pinged (River's interval).
PING_INTERVAL = 5.0

NotificationCallback = Callable[[str], Awaitable[None] | None]


class Listener(Service):
    name = "riverboat-listener"

    def __init__(
        self, *, conninfo: str, schema: str, timeout: float = DATABASE_TIMEOUT_LISTENER_DEFAULT.total_seconds()
    ) -> None:
        self._conninfo = with_connection_defaults(conninfo)
        self._timeout = timeout
        self.schema = schema
        self._subscribers: dict[Topic, list[NotificationCallback]] = {topic: [] for topic in Topic}
        self._reconnect_callbacks: list[Callable[[], None]] = []
        self._connected = asyncio.Event()
        self._background = TaskSet("riverboat-listener")
        #: The backend PID of the current connection (tests terminate it).
        self.backend_pid: int | None = None

    def subscribe(self, topic: Topic | str, callback: NotificationCallback) -> Callable[[], None]:
        """Call ``callback(payload)`` for each notification on ``topic``; a coroutine result is
        awaited in the background. Returns an unsubscribe function."""
        callbacks = self._subscribers[Topic(topic)]
        callbacks.append(callback)
        return lambda: callbacks.remove(callback) if callback in callbacks else None

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every connection but a first one that nothing failed before."""
        self._reconnect_callbacks.append(callback)

    async def start(self) -> None:
        """Start listening and wait (briefly) for the first connection, so that notifications
        sent after start returns are heard."""
        await super().start()
        if not await wait_event(self._connected, 5.0):
            logger.warning("listener: not connected yet; relying on polling until it is")

    async def _after_stop(self) -> None:
        self._connected.clear()
        self._background.cancel_all()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def _run(self) -> None:
        outage = Outage("listener")
        first = True
        while True:
            try:
                async with db_deadline(self._timeout, "listener: connecting"):
                    conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    async with db_deadline(self._timeout, "listener: LISTEN"):
                        for topic in Topic:
                            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel(self.schema, topic))))
                    self.backend_pid = conn.info.backend_pid
                    self._connected.set()
                    outage.succeeded()
                    if not first:
                        self._fire_reconnect()
                    first = False
                    await self._receive(conn)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                self._connected.clear()
                first = False
                await asyncio.sleep(outage.failed(exc))

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in conn.notifies(timeout=PING_INTERVAL):
                self._dispatch(notify.channel, notify.payload)
            # A quiet connection is pinged so a dead one is noticed.
            async with db_deadline(self._timeout, "listener: ping"):
                await conn.execute("SELECT 1")

    def _dispatch(self, channel_name: str, payload: str) -> None:
        topic = topic_of(channel_name)
        if topic is None:
            return
        for callback in list(self._subscribers[topic]):
            try:
                result = callback(payload)
            except Exception:
                logger.exception("listener: %s subscriber failed", topic.value)
                continue
            if inspect.isawaitable(result):
                self._background.spawn(result, f"{topic.value} subscriber")

    def _fire_reconnect(self) -> None:
        for callback in list(self._reconnect_callbacks):
            try:
                callback()
            except Exception:
                logger.exception("listener: reconnect callback failed")
