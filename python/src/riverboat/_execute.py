"""The executor: runs one fetched job and turns what happened into a completion
(spec/07-complete.md). ``decide`` is the pure part: outcome + job values + now -> the row change.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from riverboat._deadlines import Deadlines
from riverboat._retry import RetryPolicy
from riverboat.contract import ArgsValidator, Contract
from riverboat.errors import ArgsContractError, JobCancel, JobDiscard, JobSnooze
from riverboat.events import EventKind
from riverboat.job import AttemptError, Job
from riverboat.worker import JobContext, Worker, Workers, WorkJob, bind_context, resolve_timeout

logger = logging.getLogger("riverboat")

#: Retries and snoozes due within this go straight to ``available`` (the scheduler's interval).
AVAILABLE_HORIZON = timedelta(seconds=5)
CANCELLED_REMOTELY = "job cancelled remotely"
STOPPED = "job interrupted: the client was stopped"
UNKNOWN_KIND = "job kind is not registered in the client's Workers bundle: {kind}"


class Completion(NamedTuple):
    """One row change for the completer, plus what the event needs (a named tuple: one is
    made per job, and a frozen dataclass's field-by-field init costs four times as much)."""

    job_id: int
    state: str
    outcome: EventKind
    duration: timedelta
    attempt: int | None = None
    error: dict[str, Any] | None = None
    finalized_at: datetime | None = None
    scheduled_at: datetime | None = None
    metadata_updates: dict[str, Any] | None = None


@dataclass(frozen=True)
class Success:
    pass


@dataclass(frozen=True)
class Failure:
    """An error: retried at ``retry_at`` if attempts are left, else discarded."""

    error: AttemptError
    retry_at: datetime


@dataclass(frozen=True)
class Cancelled:
    error: AttemptError


@dataclass(frozen=True)
class Discarded:
    error: AttemptError


@dataclass(frozen=True)
class Snoozed:
    duration: timedelta


@dataclass(frozen=True)
class Interrupted:
    """Cancelled because the client stopped: made available again with the attempt given back."""


Outcome = Success | Failure | Cancelled | Discarded | Snoozed | Interrupted


def snooze_count(value: object) -> int:
    """An existing ``metadata.snoozes`` read as River reads it (gjson): numbers truncate toward
    zero, integer strings parse, ``true`` is 1, anything else 0."""
    if value is True:
        return 1
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


def decide(
    *,
    job_id: int,
    attempt: int,
    max_attempts: int,
    metadata: Mapping[str, Any],
    outcome: Outcome,
    metadata_updates: Mapping[str, Any],
    duration: timedelta,
    now: datetime,
) -> Completion:
    """The row change for ``outcome`` (the table in spec/07-complete.md#completion-rules)."""
    updates = dict(metadata_updates) or None
    common: dict[str, Any] = {"job_id": job_id, "duration": duration, "metadata_updates": updates}
    if isinstance(outcome, Success):
        return Completion(state="completed", outcome=EventKind.COMPLETED, finalized_at=now, **common)
    if isinstance(outcome, Cancelled):
        return Completion(
            state="cancelled", outcome=EventKind.CANCELLED, error=outcome.error.to_json(), finalized_at=now, **common
        )
    if isinstance(outcome, Discarded) or (isinstance(outcome, Failure) and attempt >= max_attempts):
        return Completion(
            state="discarded", outcome=EventKind.DISCARDED, error=outcome.error.to_json(), finalized_at=now, **common
        )
    if isinstance(outcome, Failure):
        state = "available" if outcome.retry_at - now <= AVAILABLE_HORIZON else "retryable"
        return Completion(
            state=state,
            outcome=EventKind.FAILED,
            error=outcome.error.to_json(),
            scheduled_at=outcome.retry_at,
            **common,
        )
    if isinstance(outcome, Interrupted):
        return Completion(
            state="available", outcome=EventKind.INTERRUPTED, attempt=max(attempt - 1, 0), scheduled_at=now, **common
        )
    snoozes = snooze_count(metadata.get("snoozes")) + 1
    common["metadata_updates"] = {**(updates or {}), "snoozes": snoozes}
    return Completion(
        state="available" if outcome.duration <= AVAILABLE_HORIZON else "scheduled",
        outcome=EventKind.SNOOZED,
        attempt=max(attempt - 1, 0),
        scheduled_at=now + outcome.duration,
        **common,
    )


def _uncancel_current_task() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def describe(exc: BaseException) -> str:
    """The error message of ``exc``, even when its ``str()`` raises."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:
        return f"{name}: <str() failed>"
    return f"{name}: {text}" if text else name


def trace_of(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(exc))
    except BaseException:
        return ""


@dataclass
class Running:
    """A job being executed; the runtime uses it to cancel remotely or on stop, and the
    executor's deadlines to time it out."""

    context: JobContext
    task: asyncio.Task[Any] | None = None
    timed_out: bool = False

    def cancel(self, reason: str) -> None:
        self.context.request_cancel(reason)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def time_out(self) -> None:
        # A job already told to stop (cancelled remotely, or the client stopping) keeps that outcome.
        if self.context.cancel_reason is None and self.task is not None and not self.task.done():
            self.timed_out = True
            self.task.cancel()


class JobExecutor:
    """Runs jobs. One per runtime; ``thread_pool`` runs sync workers (the producer passes its queue's)."""

    def __init__(
        self, *, workers: Workers, retry_policy: RetryPolicy, job_timeout: timedelta, contract: Contract | None = None
    ) -> None:
        self._workers = workers
        self._contract = contract
        self._retry_policy = retry_policy
        self._job_timeout = job_timeout
        self._validators: dict[str, ArgsValidator | None] = {}
        self._deadlines = Deadlines()

    async def execute(self, job: Job, running: Running, thread_pool: Executor | None) -> Completion:
        """Work ``job`` and return its completion. Never raises except when the surrounding
        task is cancelled for a reason that isn't the job's own (then the job stays running
        for the rescuer, as with a crashed client)."""
        started = datetime.now(UTC)
        t0 = time.monotonic()
        context = running.context
        outcome: Outcome
        worker = self._workers.get(job.kind)
        work_job: WorkJob[Any] | None = None
        if worker is None:
            # River checks for a worker before running anything: the job fails and is retried.
            error = self._error(job, started, UNKNOWN_KIND.format(kind=job.kind), "")
            outcome = Failure(error, self._retry_at(job, None, None))
        else:
            try:
                work_job = WorkJob(job, self._decode(worker, job))
                await self._run(worker, work_job, running, thread_pool)
                outcome = Success() if context.cancel_reason is None else self._cancelled(job, started, context)
            except JobSnooze as snooze:
                outcome = Snoozed(snooze.duration)
            except JobCancel as exc:
                outcome = Cancelled(self._error(job, started, f"JobCancelError: {describe_plain(exc)}", ""))
            except (JobDiscard, ArgsContractError) as exc:
                outcome = Discarded(self._error(job, started, describe_plain(exc), ""))
            except asyncio.CancelledError:
                if context.cancel_reason is None:
                    raise
                _uncancel_current_task()
                outcome = self._cancelled(job, started, context)
            except TimeoutError as exc:
                if context.cancel_reason is None:
                    outcome = self._failure(job, worker, work_job, started, exc)
                else:
                    outcome = Failure(
                        self._error(job, started, context.cancel_reason, ""),
                        self._retry_at(job, worker, work_job),
                    )
            except BaseException as exc:
                outcome = self._failure(job, worker, work_job, started, exc)
        return decide(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            metadata=job.metadata,
            outcome=outcome,
            metadata_updates=context.metadata_updates,
            duration=timedelta(seconds=time.monotonic() - t0),
            now=datetime.now(UTC),
        )

    def _validator(self, worker: Worker[Any], kind: str) -> ArgsValidator | None:
        """The worker's own contract, else the kind's entry in the client's contract."""
        if kind not in self._validators:
            if worker.contract is not None:
                self._validators[kind] = ArgsValidator(kind, worker.contract)
            else:
                self._validators[kind] = None if self._contract is None else self._contract.validator(kind)
        return self._validators[kind]

    def _decode(self, worker: Worker[Any], job: Job) -> Any:
        validator = self._validator(worker, job.kind)
        if validator is not None:
            validator.check(job.args)
        return worker.decode_args(job.args)

    async def _run(self, worker: Worker[Any], work_job: WorkJob[Any], running: Running, pool: Executor | None) -> None:
        timeout = resolve_timeout(worker.timeout, self._job_timeout)
        context = running.context
        slot = None if timeout is None else self._deadlines.add(running, timeout)
        try:
            if _is_async(worker):
                bind_context(context)
                await worker.work(work_job)  # type: ignore[misc]
            else:
                await self._run_in_thread(worker, work_job, context, pool)
        except asyncio.CancelledError:
            if not running.timed_out:
                raise
            # Our own cancel: withdraw it, as asyncio.timeout does, and fail the attempt.
            _uncancel_current_task()
            context.request_cancel(f"job timed out after {timeout} s")
            raise TimeoutError from None
        finally:
            if slot is not None:
                self._deadlines.remove(running, slot)
        if running.timed_out:
            _uncancel_current_task()  # the worker swallowed the cancel and finished

    @staticmethod
    async def _run_in_thread(
        worker: Worker[Any], work_job: WorkJob[Any], context: JobContext, pool: Executor | None
    ) -> None:
        call_context = contextvars.copy_context()
        call_context.run(bind_context, context)
        future = asyncio.get_running_loop().run_in_executor(pool, call_context.run, worker.work, work_job)
        # The thread can't be stopped: on timeout or cancel it is told through the flag and its
        # late result is ignored, so the job is recorded once.
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_ignore_late_result)
            raise

    def _cancelled(self, job: Job, started: datetime, context: JobContext) -> Outcome:
        reason = context.cancel_reason or CANCELLED_REMOTELY
        if reason == CANCELLED_REMOTELY:
            return Cancelled(self._error(job, started, f"JobCancelError: {reason}", ""))
        if reason == STOPPED:
            return Interrupted()
        # A timeout is an error: the job is retried.
        return Failure(self._error(job, started, reason, ""), self._retry_at(job, None, None))

    def _failure(
        self, job: Job, worker: Worker[Any] | None, work_job: WorkJob[Any] | None, started: datetime, exc: BaseException
    ) -> Failure:
        return Failure(self._error(job, started, describe(exc), trace_of(exc)), self._retry_at(job, worker, work_job))

    def _retry_at(self, job: Job, worker: Worker[Any] | None, work_job: WorkJob[Any] | None) -> datetime:
        now = datetime.now(UTC)
        if worker is not None and work_job is not None:
            try:
                chosen = worker.next_retry(work_job)
            except Exception:
                logger.exception("next_retry of %s failed; using the client's retry policy", job.kind)
                chosen = None
            if chosen is not None and chosen >= now:
                return chosen
        return self._retry_policy.next_retry(job, now)

    @staticmethod
    def _error(job: Job, started: datetime, message: str, trace: str) -> AttemptError:
        return AttemptError(at=started, attempt=job.attempt, error=message, trace=trace)


def describe_plain(exc: BaseException) -> str:
    """The message alone (for riverboat's own signals, whose type adds nothing)."""
    try:
        return str(exc)
    except BaseException:
        return type(exc).__name__


def _ignore_late_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.info("a sync job finished after its timeout or cancel; its result is ignored")


_async_cache: dict[type[Any], bool] = {}


def _is_async(worker: Worker[Any]) -> bool:
    cls = type(worker)
    cached = _async_cache.get(cls)
    if cached is None:
        cached = _async_cache[cls] = asyncio.iscoroutinefunction(worker.work)
    return cached
