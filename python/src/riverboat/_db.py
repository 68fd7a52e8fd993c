"""How riverboat talks to the database when the network or the server misbehaves: the
deadline of each call, the pools it owns, and how a recurring call that fails is retried
and logged (spec/06-fetch.md#faults). The parameters of the connections it opens (connect
timeout, keepalives, ``tcp_user_timeout``) are ``riverboat._conninfo``'s.

- ``db_deadline``: how long one call may wait for the database. It cancels the call, and if
  psycopg's attempt to cancel the statement itself hangs (the server can't be reached),
  cancels it again after ``CANCEL_GRACE``, which makes psycopg close the connection: a
  connection interrupted mid-statement is never handed out again.
- ``async_owned_pool`` / ``owned_pool``: the pools a client creates from a conninfo: checked
  before use when idle, quick to reconnect after an outage, with a server-side
  ``statement_timeout`` when nothing else set one.
- ``Outage``: the failures in a row of one recurring call: the retry delay, and log lines an
  operator can read (the first failure, a reminder while it lasts, the recovery).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from riverboat._conninfo import with_connection_defaults
from riverboat._defaults import (
    DATABASE_TIMEOUT_ADMIN_DEFAULT,
    DATABASE_TIMEOUT_INSERT_DEFAULT,
    DATABASE_TIMEOUT_LEADER_DEFAULT,
    DATABASE_TIMEOUT_LISTENER_DEFAULT,
    DATABASE_TIMEOUT_MAINTENANCE_DEFAULT,
    DATABASE_TIMEOUT_WORK_DEFAULT,
    OWNED_POOL_MAX_SIZE,
)
from riverboat._queries import query
from riverboat.errors import DatabaseTimeoutError

logger = logging.getLogger("riverboat")

#: After a deadline cancelled a call, how long psycopg may spend asking the server to
#: cancel the statement before the call is cancelled again (psycopg then closes the connection).
CANCEL_GRACE = 1.0
#: psycopg_pool's reconnection backoff doubles up to its reconnect_timeout. riverboat's own
#: pools give a reconnection up after this instead; the next call that needs a connection
#: starts a fresh one (first attempt at once), so a database that is back is reached within
#: about a second of being asked for.
RECONNECT_TIMEOUT = 1.0
#: How long the worker's recurring calls (fetch, completion, polls, leader, maintenance) wait
#: for a pooled connection before failing and retrying: a retry makes the pool connect again.
POOL_WAIT = 1.0
#: How long closing an owned pool waits for its connection attempts to end (one may be
#: waiting out its connect timeout on a dead network) before it leaves them.
POOL_CLOSE_TIMEOUT = 1.0
#: A pooled connection idle at least this long is checked (an empty query) before it is
#: handed out; one used more recently is trusted, and a call on it that fails is retried.
CHECK_IDLE_AFTER = 1.0
#: Retry delays of a recurring call that failed: doubling from START to MAX, jittered down by
#: up to JITTER so that a fleet does not retry in lockstep.
RETRY_BACKOFF_START = 0.05
RETRY_BACKOFF_MAX = 1.0
RETRY_JITTER = 0.25
#: While a recurring call keeps failing, the log says so again this often.
REMIND_EVERY = 30.0
#: SQLSTATE classes of failures that say nothing about the statement: the connection, a
#: transaction conflict, resources, the operator (shutdown, cancel), the server's system.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
STATEMENT_TIMEOUT_HINT = (
    " (the session's statement_timeout ended it: see the conninfo's options, PGOPTIONS,"
    " and the role's or the database's settings)"
)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long riverboat waits for the database, per kind of call, before it gives the call
    up: ``work`` (fetch, completion writes, queue registration and polls), ``listener``
    (connecting, LISTEN, the health ping), ``leader`` (election, lease renewal,
    resignation), ``maintenance`` (each batch), ``admin`` and ``insert`` (one call each).
    A call given up raises ``DatabaseTimeoutError``; the worker's calls are retried.
    Validated when the client is created."""

    work: timedelta = DATABASE_TIMEOUT_WORK_DEFAULT
    listener: timedelta = DATABASE_TIMEOUT_LISTENER_DEFAULT
    leader: timedelta = DATABASE_TIMEOUT_LEADER_DEFAULT
    maintenance: timedelta = DATABASE_TIMEOUT_MAINTENANCE_DEFAULT
    admin: timedelta = DATABASE_TIMEOUT_ADMIN_DEFAULT
    insert: timedelta = DATABASE_TIMEOUT_INSERT_DEFAULT

    @property
    def longest(self) -> timedelta:
        return max(self.work, self.listener, self.leader, self.maintenance, self.admin, self.insert)


@asynccontextmanager
async def db_deadline(seconds: float, what: str) -> AsyncIterator[None]:
    """Give the database work inside up after ``seconds``: it raises ``DatabaseTimeoutError``
    naming ``what``. A cancellation from outside passes through unchanged."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("db_deadline() needs a running task")
    cancelling = task.cancelling()
    forced = False

    def force() -> None:
        nonlocal forced
        forced = True
        task.cancel()

    backstop = asyncio.get_running_loop().call_later(seconds + CANCEL_GRACE, force)
    timer = asyncio.timeout(seconds)
    try:
        async with timer:
            yield
    except TimeoutError:
        if not timer.expired():
            raise
        raise DatabaseTimeoutError(what, seconds) from None
    except asyncio.CancelledError:
        # The backstop's cancel is ours to withdraw; asyncio.timeout withdrew its own.
        if forced and task.uncancel() <= cancelling:
            raise DatabaseTimeoutError(what, seconds) from None
        raise
    else:
        if forced:
            task.uncancel()
    finally:
        backstop.cancel()


@contextmanager
def socket_deadline(seconds: float, what: str) -> Iterator[None]:
    """What ``db_deadline`` becomes in the generated blocking client. Blocking code can't be
    interrupted from Python, so its calls are bounded by the connection instead: TCP
    keepalives and ``tcp_user_timeout`` (``with_connection_defaults``) drop a silent
    connection, and an owned pool's ``statement_timeout`` ends a stuck statement."""
    yield


@asynccontextmanager
async def pooled(
    pool: AsyncConnectionPool[Any], seconds: float, what: str, *, pool_wait: float = POOL_WAIT
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection from ``pool`` for a recurring call of the worker: everything inside,
    getting the connection included, gives up after ``seconds``."""
    async with db_deadline(seconds, what), pool.connection(timeout=min(seconds, pool_wait)) as conn:
        yield conn


_returned_at: WeakKeyDictionary[Any, float] = WeakKeyDictionary()


def _recently_used(conn: Any) -> bool:
    return time.monotonic() - _returned_at.get(conn, 0.0) < CHECK_IDLE_AFTER


def _statement_timeout(timeouts: DatabaseTimeouts) -> dict[str, str]:
    # The longest deadline: the server ends what no caller waits for any more, and the
    # blocking client's statements are bounded at all.
    return {"timeout": f"{round(timeouts.longest.total_seconds() * 1000)}ms"}


def _pool_options(conninfo: str) -> dict[str, Any]:
    return {
        "conninfo": with_connection_defaults(conninfo),
        "min_size": 1,
        "max_size": OWNED_POOL_MAX_SIZE,
        "open": False,
        # Autocommit: inserts open their own transaction, and the worker's statements must
        # not leave one open on a pooled connection.
        "kwargs": {"autocommit": True},
        "reconnect_timeout": RECONNECT_TIMEOUT,
    }


def async_owned_pool(conninfo: str, timeouts: DatabaseTimeouts) -> AsyncConnectionPool[Any]:
    """The pool a client creates from a conninfo (closed until first used)."""
    params = _statement_timeout(timeouts)
    seconds = timeouts.work.total_seconds()

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        async with db_deadline(seconds, "configuring a new connection"):
            await conn.execute(query("session_statement_timeout_default", None), params)

    async def check(conn: psycopg.AsyncConnection[Any]) -> None:
        if not _recently_used(conn):
            await AsyncConnectionPool.check_connection(conn)

    async def reset(conn: psycopg.AsyncConnection[Any]) -> None:
        _returned_at[conn] = time.monotonic()

    return AsyncConnectionPool(**_pool_options(conninfo), configure=configure, check=check, reset=reset)


def owned_pool(conninfo: str, timeouts: DatabaseTimeouts) -> ConnectionPool[Any]:
    """The blocking twin of ``async_owned_pool``, for the blocking client."""
    params = _statement_timeout(timeouts)

    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute(query("session_statement_timeout_default", None), params)

    def check(conn: psycopg.Connection[Any]) -> None:
        if not _recently_used(conn):
            ConnectionPool.check_connection(conn)

    def reset(conn: psycopg.Connection[Any]) -> None:
        _returned_at[conn] = time.monotonic()

    return ConnectionPool(**_pool_options(conninfo), configure=configure, check=check, reset=reset)


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the database's (or the network's) doing rather than a bug."""
    return isinstance(exc, psycopg.Error | OSError)


def is_statement_error(exc: BaseException) -> bool:
    """Whether the server refused the statement itself (a constraint, a trigger, a missing
    privilege): the same statement would likely fail again, unlike a lost connection."""
    if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
        return False
    return not exc.sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES)


def describe_error(exc: BaseException) -> str:
    """One line saying why a database call failed."""
    if isinstance(exc, psycopg.Error):
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else ""
        code = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        hint = (
            STATEMENT_TIMEOUT_HINT
            if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in text
            else ""
        )
        return f"{type(exc).__name__}{code}: {text}{hint}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Outage:
    """The failures in a row of one recurring call named ``what``. ``failed`` logs (the first
    failure with its reason, then a reminder every ``REMIND_EVERY`` while they last) and says
    how long to wait before trying again; ``succeeded`` ends the outage, logging how long it
    lasted. A failure that is not the database's is logged with its traceback."""

    def __init__(
        self,
        what: str,
        *,
        backoff_start: float = RETRY_BACKOFF_START,
        backoff_max: float = RETRY_BACKOFF_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self._backoff_start = backoff_start
        self._backoff_max = backoff_max
        self._clock = clock
        self._failures = 0
        self._delay = 0.0
        self._since = 0.0
        self._reminded = 0.0

    @property
    def failing(self) -> bool:
        return self._failures > 0

    def failed(self, exc: BaseException) -> float:
        now = self._clock()
        self._delay = self._backoff_start if not self._failures else min(self._delay * 2, self._backoff_max)
        self._failures += 1
        delay = self._delay * random.uniform(1 - RETRY_JITTER, 1)
        trace = None if is_database_error(exc) else exc
        if self._failures == 1:
            self._since = self._reminded = now
            logger.warning("%s failed: %s; retrying", self.what, describe_error(exc), exc_info=trace)
        elif now - self._reminded >= REMIND_EVERY:
            self._reminded = now
            logger.warning(
                "%s still failing after %d attempts over %.0f s: %s",
                self.what, self._failures, now - self._since, describe_error(exc), exc_info=trace,
            )  # fmt: skip
        else:
            logger.debug("%s failed again: %s", self.what, describe_error(exc))
        return delay

    def succeeded(self) -> None:
        if self._failures:
            logger.warning(
                "%s works again after %d failed attempts over %.1f s",
                self.what, self._failures, self._clock() - self._since,
            )  # fmt: skip
            self._failures = 0
