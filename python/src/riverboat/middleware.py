"""Middleware, hooks and error handlers: code that runs around inserting and working jobs
(spec/07-complete.md#middleware), the same concepts as River Go's.

- **Middleware** wraps an operation and must call ``call_next()`` to carry it out:
  ``insert_many`` (``AsyncClient``; ``insert_many_sync`` for ``Client``) wraps every
  batch insert and may change the jobs' params (their metadata, say) before calling
  ``call_next()``, which returns the insert's results (an empty list for the COPY
  inserts of ``insert_many_fast``, which read no rows back); ``work`` wraps the
  execution of one job, hooks and args decoding included.
- **Hooks** run at one point and return nothing (or raise): ``insert_begin`` before each
  job is inserted, ``work_begin`` before a job is worked, ``work_end`` after, with the
  error ``work`` raised (or ``None``), which it may replace.
- An **error handler** sees every failed attempt (``handle_error``) and every
  ``BaseException`` that is not an ``Exception`` (``handle_panic``, River's panic), and
  may cancel the job or choose when it runs again.

Middleware and hooks are registered on the client (global: ``middleware=[...]``,
``hooks=[...]``) and on a worker or an args class (``middleware`` and ``hooks`` class
attributes). Order: global ones first, in the order given, then the worker's (for
inserts: the args class's); the first middleware is the outermost. An exception raised
by a hook or middleware while working a job is handled like one raised by ``work``: the
job fails (and is retried), the worker carries on. While inserting, it fails the insert.

Subclass ``Middleware`` or ``Hook`` and override what you need; the defaults do nothing
but pass on. A method may be ``async def`` where it runs on the event loop (every work
method, and insert methods of ``AsyncClient``); ``Client``'s insert methods are plain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riverboat._states import JobState
from riverboat.job import InsertResult, Job

InsertNext = Callable[[], Awaitable[list[InsertResult]]]
SyncInsertNext = Callable[[], list[InsertResult]]
WorkNext = Callable[[], Awaitable[None]]


@dataclass
class JobInsertParams:
    """One job about to be inserted, as insert middleware and hooks see it. Its unique key
    is already computed (from kind, args, queue and period), so changing those here does
    not change the key; metadata, priority, tags and the like may be changed freely."""

    kind: str
    #: The args as they will be stored: JSON bytes of an object.
    args: bytes
    metadata: dict[str, Any]
    queue: str
    priority: int
    max_attempts: int
    created_at: datetime
    scheduled_at: datetime
    state: JobState
    tags: list[str]
    unique_key: bytes | None
    unique_states: int | None


@dataclass(frozen=True)
class JobGetAvailableMetric:
    """Emitted after each successful fetch (River's ``JobGetAvailableDurationMetric`` and
    ``JobGetAvailableCountMetric``): the queue, how long the statement took, and how many
    jobs it locked."""

    queue: str
    duration: timedelta
    count: int


class Middleware:
    """Base class of middleware; each method's default only calls ``call_next()``."""

    async def insert_many(self, params: list[JobInsertParams], call_next: InsertNext) -> list[InsertResult]:
        """Around a batch insert of ``AsyncClient``; return what ``call_next()`` returns."""
        return await call_next()

    def insert_many_sync(self, params: list[JobInsertParams], call_next: SyncInsertNext) -> list[InsertResult]:
        """Around a batch insert of ``Client``; return what ``call_next()`` returns."""
        return call_next()

    async def work(self, job: Job, call_next: WorkNext) -> None:
        """Around working ``job``; raise to fail it, as ``work`` would."""
        await call_next()

    def metric_emit(self, metric: JobGetAvailableMetric) -> None:
        """A metric from the fetch path (River's ``HookMetricEmit``): called on hot paths, so
        it must only record, never wait. Also called on hooks."""
        return None


class Hook:
    """Base class of hooks; each method's default does nothing. A work hook may be
    ``async def``."""

    def insert_begin(self, params: JobInsertParams) -> Any:
        """Before ``params`` is inserted; raise to refuse the insert."""
        return None

    def work_begin(self, job: Job) -> Any:
        """Before ``job`` is worked (its args not yet decoded); raise to fail the job."""
        return None

    def work_end(self, job: Job, error: BaseException | None) -> Any:
        """After ``job`` was worked, with what it raised (``None``: it returned). Return
        the error to record (``error`` itself to keep it; ``None`` to clear it)."""
        return error

    def metric_emit(self, metric: JobGetAvailableMetric) -> None:
        """As ``Middleware.metric_emit``."""
        return None


@dataclass(frozen=True)
class ErrorHandlerResult:
    """What an error handler decides: ``set_cancelled`` ends the job ``cancelled`` now;
    ``retry_at`` runs it again then (if attempts are left). Neither: the retry policy."""

    set_cancelled: bool = False
    retry_at: datetime | None = None


class ErrorHandler:
    """Base class of an error handler; each method's default leaves the job to the retry
    policy. Either method may be ``async def``."""

    def handle_error(self, job: Job, error: Exception) -> Any:
        """A failed attempt: return an ``ErrorHandlerResult`` or ``None``."""
        return None

    def handle_panic(self, job: Job, error: BaseException, trace: str) -> Any:
        """A ``BaseException`` that is not an ``Exception`` escaped ``work``."""
        return None


def metric_sinks(middleware: Sequence[Middleware], hooks: Sequence[Hook]) -> list[Middleware | Hook]:
    """The middleware and hooks that record metrics (override ``metric_emit``), each once."""
    sinks: list[Middleware | Hook] = []
    plugins: list[Middleware | Hook] = [*middleware, *hooks]
    for plugin in plugins:
        base = Middleware if isinstance(plugin, Middleware) else Hook
        if type(plugin).metric_emit is not base.metric_emit and all(plugin is not s for s in sinks):
            sinks.append(plugin)
    return sinks
