"""Leader election on ``river_leader``, the same way River Go elects, so that riverboat and
River Go clients on one schema choose one leader among them (spec/10-leadership.md).

A follower tries to insert the single leader row every ``elect_interval`` plus jitter,
deleting an expired row first in the same transaction. The leader extends its lease
(``elect_interval`` + ``ttl_padding``, 15 s by default) every ``elect_interval``; if the
extension finds no row, or the lease runs out while the database is unreachable, it
steps down. On stop it deletes its row and sends ``resigned`` on
``<schema>.river_leadership`` so that a follower takes over within 0-50 ms.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from riverboat._db import describe_error, is_database_error
from riverboat._queries import query
from riverboat._rules import validate_client_id, validate_duration
from riverboat._service import ConnectionSource, IntervalService, logger
from riverboat._waiting import wait_event

ELECT_INTERVAL_DEFAULT = timedelta(seconds=5)
ELECT_INTERVAL_JITTER_DEFAULT = timedelta(seconds=1)
TTL_PADDING_DEFAULT = timedelta(seconds=10)
# Followers wait a random moment up to this after a resignation so they don't all bid at once.
RESIGNED_WAKEUP_MAX = timedelta(milliseconds=50)

LeadershipListener = Callable[[bool], Awaitable[None]]


@dataclass(frozen=True)
class ElectorConfig:
    """Timings of the elector; River Go's defaults."""

    elect_interval: timedelta = ELECT_INTERVAL_DEFAULT
    elect_interval_jitter: timedelta = ELECT_INTERVAL_JITTER_DEFAULT
    ttl_padding: timedelta = TTL_PADDING_DEFAULT

    def __post_init__(self) -> None:
        validate_duration("elect_interval", self.elect_interval)
        validate_duration("ttl_padding", self.ttl_padding)
        validate_duration("elect_interval_jitter", self.elect_interval_jitter, inclusive=True)

    @property
    def ttl(self) -> timedelta:
        """Length of a lease: always longer than the interval at which it is renewed."""
        return self.elect_interval + self.ttl_padding


@dataclass(frozen=True)
class _Term:
    elected_at: datetime
    # Monotonic deadline by which the lease has surely run out, measured from when the
    # (re)election attempt started, so database latency cannot extend it.
    deadline: float


class Elector(IntervalService[bool]):
    """Takes part in election; tells its listeners when this client gains or loses leadership.

    ``run_once()`` is one election (follower) or lease renewal (leader) and returns
    whether this client leads afterwards. The runtime's listener passes decoded
    ``<schema>.river_leadership`` payloads to ``handle_notification``.
    """

    name = "riverboat-elector"

    def __init__(
        self,
        *,
        connect: ConnectionSource,
        client_id: str,
        schema: str | None = None,
        config: ElectorConfig | None = None,
        stagger: bool = True,
    ) -> None:
        super().__init__(stagger=stagger)
        self._connect = connect
        self._client_id = validate_client_id(client_id)
        self._schema = schema
        self._config = config or ElectorConfig()
        self._term: _Term | None = None
        self._wakeup = asyncio.Event()
        self._resign_requested = False
        self._listeners: list[LeadershipListener] = []

    @property
    def interval(self) -> timedelta:
        return self._config.elect_interval

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def is_leader(self) -> bool:
        return self._term is not None

    def subscribe(self, listener: LeadershipListener) -> None:
        """Call ``listener(is_leader)`` whenever this client gains or loses leadership."""
        self._listeners.append(listener)

    def handle_notification(self, payload: Mapping[str, Any]) -> None:
        """React to a decoded ``river_leadership`` payload (from the runtime's listener)."""
        action = payload.get("action")
        if action == "resigned" and payload.get("leader_id") != self._client_id and not self.is_leader:
            self._wakeup.set()
        elif action == "request_resign":
            self.request_resign()

    def request_resign(self) -> None:
        """Make this client step down if it leads; it then runs for election again."""
        if self.is_leader:
            self._resign_requested = True
            self._wakeup.set()

    async def run_once(self) -> bool:
        if self._term is None:
            await self._attempt_elect()
        else:
            await self._attempt_reelect(self._term)
        return self.is_leader

    async def _run(self) -> None:
        await self._wait_stagger()
        try:
            while True:
                await self._follow()
                await self._lead()
        finally:
            # Bounded: a stop that waits too long cancels this again, and the lease expires.
            if self._term is not None:
                await self._resign_and_announce()

    async def _follow(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                elected = await self.run_once()
            except Exception as exc:
                self._failed("election attempt", exc)
                wait = self._config.elect_interval
            else:
                self._outage.succeeded()
                if elected:
                    return
                wait = self._config.elect_interval + random.random() * self._config.elect_interval_jitter
            if await self._wait_wakeup(wait.total_seconds()):
                await asyncio.sleep(random.uniform(0, RESIGNED_WAKEUP_MAX.total_seconds()))

    async def _lead(self) -> None:
        await self._announce(True)
        wait = self._config.elect_interval.total_seconds()
        while self._term is not None:
            if not self._resign_requested:
                self._wakeup.clear()
                await self._wait_wakeup(wait)
            if self._resign_requested:
                logger.info("%s: %s resigning on request", self.name, self._client_id)
                await self._resign_and_announce()
                return
            term = self._term
            remaining = term.deadline - time.monotonic()
            if remaining <= 0:
                self._lose("lease deadline passed")
                break
            try:
                async with asyncio.timeout(remaining):
                    await self._attempt_reelect(term)
                self._outage.succeeded()
                wait = self._config.elect_interval.total_seconds()
            except Exception as exc:
                self._failed("lease renewal", exc)
                wait = min(1.0, max(0.0, term.deadline - time.monotonic()))
        await self._announce(False)

    def _failed(self, what: str, exc: Exception) -> None:
        if is_database_error(exc):
            self._outage.failed(exc)
        else:
            logger.exception("%s: %s failed", self.name, what)

    async def _wait_wakeup(self, seconds: float) -> bool:
        return await wait_event(self._wakeup, seconds)

    async def _attempt_elect(self) -> None:
        started = time.monotonic()
        async with self._connect() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query("leader_delete_expired", self._schema), {"now": None})
            await cur.execute(
                query("leader_attempt_elect", self._schema),
                {"leader_id": self._client_id, "now": None, "ttl": self._config.ttl.total_seconds()},
            )
            row = await cur.fetchone()
        if row is not None:
            self._term = _Term(row["elected_at"], started + self._config.ttl.total_seconds())
            self._resign_requested = False

    async def _attempt_reelect(self, term: _Term) -> None:
        started = time.monotonic()
        async with self._connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                query("leader_attempt_reelect", self._schema),
                {
                    "elected_at": term.elected_at,
                    "leader_id": self._client_id,
                    "now": None,
                    "ttl": self._config.ttl.total_seconds(),
                },
            )
            row = await cur.fetchone()
        if row is None:
            self._lose("lease no longer held")
        else:
            self._term = _Term(row["elected_at"], started + self._config.ttl.total_seconds())

    def _lose(self, why: str) -> None:
        logger.warning("%s: %s lost leadership: %s", self.name, self._client_id, why)
        self._term = None
        self._resign_requested = False

    async def _resign_and_announce(self) -> None:
        term, self._term = self._term, None
        self._resign_requested = False
        if term is not None:
            try:
                await self._resign(term)
            except Exception as exc:
                # The lease then simply expires; followers take over after the TTL.
                if is_database_error(exc):
                    logger.warning("%s: resigning failed (%s); the lease will expire", self.name, describe_error(exc))
                else:
                    logger.exception("%s: resigning failed", self.name)
        await self._announce(False)

    async def _resign(self, term: _Term) -> None:
        async with self._connect() as conn, conn.transaction():
            await conn.execute(
                query("leader_resign", self._schema),
                {"elected_at": term.elected_at, "leader_id": self._client_id, "schema": self._schema},
            )

    async def _announce(self, is_leader: bool) -> None:
        for listener in self._listeners:
            try:
                await listener(is_leader)
            except Exception:
                logger.exception("%s: leadership listener failed", self.name)
