"""The executor: runs one fetched job and turns what happened into a completion
(spec/07-complete.md). ``decide`` is the pure part: outcome + job values + now -> the row change.

A job runs as River runs it: middleware (the client's, then the worker's) around the
``work_begin`` hooks, args decoding, ``work`` and the ``work_end`` hooks, all under the
job's timeout. A worker that is not registered fails the attempt without running
anything. Failures go to the client's error handler, which may cancel the job or choose
its retry time; every outcome is logged once (``riverboat._job_log``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from riverboat._completion import Completion
from riverboat._deadlines import Deadlines
from riverboat._defaults import JOB_STUCK_THRESHOLD_DEFAULT
from riverboat._job_log import log_outcome
from riverboat._retry import RetryPolicy
from riverboat._threads import DaemonThreads
from riverboat.contract import ArgsValidator, Contract
from riverboat.errors import ArgsContractError, JobCancel, JobDiscard, JobSnooze, RiverboatError
from riverboat.events import EventKind
from riverboat.job import AttemptError, Job
from riverboat.middleware import ErrorHandler, ErrorHandlerResult, Hook, Middleware
from riverboat.worker import JobContext, Worker, Workers, WorkJob, bind_context, resolve_timeout

logger = logging.getLogger("riverboat")

#: Retries and snoozes due within this go straight to ``available`` (the scheduler's interval).
AVAILABLE_HORIZON = timedelta(seconds=5)
CANCELLED_REMOTELY = "job cancelled remotely"
STOPPED = "job interrupted: the client was stopped"
UNKNOWN_KIND = "job kind is not registered in the client's Workers bundle: {kind}"


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
    metadata: object,
    outcome: Outcome,
    metadata_updates: Mapping[str, Any],
    duration: timedelta,
    now: datetime,
) -> Completion:
    """The row change for ``outcome`` (the table in spec/07-complete.md#completion-rules).
    ``metadata`` is the row's as stored: any JSON, since another writer may have stored an
    array or a scalar; only an object's ``snoozes`` counts."""
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
    snoozes = snooze_count(metadata.get("snoozes") if isinstance(metadata, Mapping) else None) + 1
    common["metadata_updates"] = {**(updates or {}), "snoozes": snoozes}
    return Completion(
        state="available" if outcome.duration <= AVAILABLE_HORIZON else "scheduled",
        outcome=EventKind.SNOOZED,
        attempt=max(attempt - 1, 0),
        scheduled_at=now + outcome.duration,
        **common,
    )


def describe(exc: BaseException) -> str:
    """The error message of ``exc``, even when its ``str()`` raises."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:
        return f"{name}: <str() failed>"
    return f"{name}: {text}" if text else name


def describe_plain(exc: BaseException) -> str:
    """The message alone (for riverboat's own signals, whose type adds nothing)."""
    try:
        return str(exc)
    except BaseException:
        return type(exc).__name__


def trace_of(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(exc))
    except BaseException:
        return ""


def is_panic(exc: BaseException) -> bool:
    """Python's nearest thing to a Go panic: a ``BaseException`` that is not an ``Exception``."""
    return not isinstance(exc, Exception)


StuckCallback = Callable[["Running", float], None]


@dataclass
class Running:
    """A job being executed. The producer cancels it (remotely, or when the client stops)
    or abandons it (the job stays ``running`` for the rescuer); the executor's deadlines
    time it out and report it stuck.

    A ``def`` worker's thread cannot be interrupted: cancelling it only raises the flag
    that ``cancellation_requested()`` reads, and the job is finalized when the thread
    returns, never before (a row never leaves ``running`` while its code runs)."""

    context: JobContext
    task: asyncio.Task[Any] | None = None
    #: The executor has begun: before that the task is never cancelled (a task cancelled
    #: before its first step runs none of its code, cleanup included); the executor checks
    #: for a stop or cancel asked meanwhile as it begins.
    started: bool = False
    in_thread: bool = False
    timed_out: bool = False
    abandoned: bool = False
    stuck: bool = False
    #: The stuck-job handler gave this job's worker slot back to its queue.
    slot_released: bool = False
    #: Seconds the job may run, and what to call once it is stuck (set by the executor).
    timeout: float | None = None
    on_stuck: StuckCallback | None = None
    stuck_slot: int | None = None

    def cancel(self, reason: str) -> None:
        """Tell the job to stop; only the first request interrupts it (a job that handles
        the cancel and carries on is not interrupted again by a repeated notification)."""
        first = not self.context.cancel_requested
        self.context.request_cancel(reason)
        if first and self.started and not self.in_thread and self.task is not None and not self.task.done():
            self.task.cancel()

    def abandon(self) -> None:
        """Stop waiting for the job without finalizing it."""
        self.abandoned = True
        if self.started and self.task is not None and not self.task.done():
            self.task.cancel()

    def time_out(self) -> None:
        # A job already told to stop (cancelled remotely, or the client stopping) keeps that outcome.
        if self.context.cancel_reason is None and self.task is not None and not self.task.done():
            self.timed_out = True
            self.cancel(f"job timed out after {self.timeout:g} s")


@dataclass(frozen=True)
class _Plan:
    """How one kind is worked, resolved once per kind."""

    worker: Worker[Any]
    is_async: bool
    timeout: float | None
    validator: ArgsValidator | None
    middleware: tuple[Middleware, ...]
    hooks: tuple[Hook, ...]


@dataclass
class _Attempt:
    """One attempt at a job, as the executor goes through it."""

    job: Job
    running: Running
    started: datetime
    plan: _Plan | None = None
    #: Set once the args are decoded (``next_retry`` needs them).
    work_job: WorkJob[Any] | None = None

    @property
    def required_plan(self) -> _Plan:
        if self.plan is None:
            raise RiverboatError(f"no worker plan for job {self.job.id}")
        return self.plan

    def decode(self) -> WorkJob[Any]:
        plan = self.required_plan
        if plan.validator is not None:
            plan.validator.check(self.job.args)
        self.work_job = WorkJob(self.job, plan.worker.decode_args(self.job.args))
        return self.work_job

    def error(self, message: str, trace: str = "") -> AttemptError:
        """The error entry of this attempt: at its start, as River records it."""
        return AttemptError(at=self.started, attempt=self.job.attempt, error=message, trace=trace)


async def _call(result: Any) -> Any:
    """A plugin's result, awaited when the plugin is ``async def``."""
    return await result if inspect.isawaitable(result) else result


class JobExecutor:
    """Runs jobs; one per runtime. ``threads`` (passed by the producer, its queue's) runs
    ``def`` workers. Middleware, hooks and the error handler are the client's; a worker's
    own middleware and hooks run after the client's."""

    def __init__(
        self,
        *,
        workers: Workers,
        retry_policy: RetryPolicy,
        job_timeout: timedelta,
        contract: Contract | None = None,
        middleware: Sequence[Middleware] = (),
        hooks: Sequence[Hook] = (),
        error_handler: ErrorHandler | None = None,
        stuck_threshold: timedelta = JOB_STUCK_THRESHOLD_DEFAULT,
        client: Any = None,
    ) -> None:
        self._workers = workers
        self._contract = contract
        self._retry_policy = retry_policy
        self._job_timeout = job_timeout
        self._middleware = tuple(middleware)
        self._hooks = tuple(hooks)
        self._error_handler = error_handler
        self._stuck_after = stuck_threshold.total_seconds()
        self._client = client
        self._plans: dict[str, _Plan] = {}
        self._deadlines = Deadlines()

    def _plan(self, worker: Worker[Any], kind: str) -> _Plan:
        plan = self._plans.get(kind)
        if plan is None:
            validator: ArgsValidator | None
            if worker.contract is not None:
                validator = ArgsValidator(kind, worker.contract)
            else:
                validator = None if self._contract is None else self._contract.validator(kind)
            plan = self._plans[kind] = _Plan(
                worker=worker,
                is_async=inspect.iscoroutinefunction(worker.work),
                timeout=resolve_timeout(worker.timeout, self._job_timeout),
                validator=validator,
                middleware=self._middleware + tuple(worker.middleware),
                hooks=self._hooks + tuple(worker.hooks),
            )
        return plan

    async def execute(
        self, job: Job, running: Running, threads: DaemonThreads | None, on_stuck: StuckCallback | None = None
    ) -> Completion:
        """Work ``job`` and return its completion. Raises ``CancelledError`` only when the
        job was abandoned or the surrounding task cancelled for a reason that isn't the
        job's own: then the job stays ``running`` for the rescuer, as with a crashed client."""
        t0 = time.monotonic()
        running.started = True
        context = running.context
        context.client = self._client
        worker = self._workers.get(job.kind)
        attempt = _Attempt(job, running, datetime.now(UTC))
        raised: BaseException | None = None
        outcome: Outcome
        if worker is None:
            # River checks for a worker before running anything: the job fails and is retried.
            outcome = await self._failed(attempt, message=UNKNOWN_KIND.format(kind=job.kind))
        else:
            attempt.plan = self._plan(worker, job.kind)
            running.in_thread = not attempt.plan.is_async
            try:
                await self._run(attempt, threads, on_stuck)
                outcome = Success()
            except JobSnooze as snooze:
                outcome = Snoozed(snooze.duration)
            except JobCancel as exc:
                outcome = Cancelled(attempt.error(f"JobCancelError: {describe_plain(exc)}"))
            except (JobDiscard, ArgsContractError) as exc:
                raised = exc
                outcome = Discarded(attempt.error(describe_plain(exc)))
            except BaseException as exc:
                if running.abandoned or (isinstance(exc, asyncio.CancelledError) and context.cancel_reason is None):
                    raise
                if isinstance(exc, asyncio.CancelledError):
                    _uncancel_current_task()  # our own cancel: what it raised is not the job's error
                else:
                    raised = exc
                outcome = await self._interrupted(attempt, exc)
        completion = decide(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            metadata=job.metadata,
            outcome=outcome,
            metadata_updates=context.metadata_updates,
            duration=timedelta(seconds=time.monotonic() - t0),
            now=datetime.now(UTC),
        )
        log_outcome(job, completion, raised, completed_in_tx=context.completed_in_tx)
        return completion

    async def _interrupted(self, attempt: _Attempt, exc: BaseException) -> Outcome:
        """The outcome of a job whose chain raised: told to stop (remote cancel, client
        stop, timeout), or failed on its own."""
        reason = attempt.running.context.cancel_reason
        if reason == CANCELLED_REMOTELY:
            # River's rule: whatever a remotely cancelled job raised, it ends cancelled.
            return Cancelled(attempt.error(f"JobCancelError: {reason}"))
        if reason == STOPPED:
            return Interrupted()
        if reason is not None and isinstance(exc, asyncio.CancelledError):
            # Our own cancel for a timeout: the error is the timeout.
            return await self._failed(attempt, message=reason)
        return await self._failed(attempt, exc=exc)

    async def _run(self, attempt: _Attempt, threads: DaemonThreads | None, on_stuck: StuckCallback | None) -> None:
        """Middleware around hooks, args decoding and ``work``, under the job's deadline."""
        plan, running = attempt.required_plan, attempt.running
        context = running.context
        if running.abandoned or context.cancel_reason is not None:
            # Told to stop before it began: end as if interrupted at its first step.
            raise asyncio.CancelledError
        slot = None
        if plan.timeout is not None:
            running.timeout = plan.timeout
            running.on_stuck = on_stuck
            slot = self._deadlines.add(running, plan.timeout, self._on_timeout)
        bind_context(context)
        try:
            if plan.middleware or plan.hooks:
                await self._chain(attempt, threads)
            else:
                await self._work(plan, attempt.decode(), threads)
        finally:
            if slot is not None:
                self._deadlines.remove(running, slot)
                # Registered only by a job that reached its timeout (see _on_timeout).
                if running.stuck_slot is not None:
                    self._deadlines.remove(running, running.stuck_slot)
        if context.cancel_reason is not None:
            _uncancel_current_task()  # the job swallowed our cancel and finished: River completes it

    def _on_timeout(self, running: Running) -> None:
        """The job's timeout passed: tell it to stop, and watch whether it does."""
        running.time_out()
        if running.on_stuck is not None and running.task is not None and not running.task.done():
            running.stuck_slot = self._deadlines.add(running, self._stuck_after, self._on_stuck)

    def _on_stuck(self, running: Running) -> None:
        if running.on_stuck is not None and running.timeout is not None:
            running.on_stuck(running, running.timeout + self._stuck_after)

    async def _chain(self, attempt: _Attempt, threads: DaemonThreads | None) -> None:
        plan, job = attempt.required_plan, attempt.job

        async def inner() -> None:
            for hook in plan.hooks:
                await _call(hook.work_begin(job))
            work_job = attempt.decode()
            error: BaseException | None = None
            try:
                await self._work(plan, work_job, threads)
            except BaseException as exc:
                if attempt.running.abandoned:
                    raise
                error = exc
            for hook in plan.hooks:
                error = await _call(hook.work_end(job, error))
            if error is not None:
                raise error

        call: Callable[[], Awaitable[None]] = inner
        for middleware in reversed(plan.middleware):
            call = functools.partial(middleware.work, job, call)
        await call()

    @staticmethod
    async def _work(plan: _Plan, work_job: WorkJob[Any], threads: DaemonThreads | None) -> None:
        if plan.is_async:
            await plan.worker.work(work_job)  # type: ignore[misc]
            return
        if threads is None:
            raise RiverboatError(f"worker of {work_job.kind} is a def worker and no threads were given to run it")
        # Not cancellable: the thread runs to its end and the job is finalized after it.
        await threads.call(plan.worker.work, work_job)

    async def _failed(self, attempt: _Attempt, *, exc: BaseException | None = None, message: str = "") -> Outcome:
        """A failed attempt: the error handler may cancel it or choose its retry time;
        otherwise the worker's ``next_retry``, then the retry policy, decide."""
        error = attempt.error(describe(exc), trace_of(exc)) if exc is not None else attempt.error(message)
        decision = await self._ask_error_handler(attempt.job, error, exc)
        if decision is not None and decision.set_cancelled:
            return Cancelled(error)
        retry_at = decision.retry_at if decision is not None else None
        return Failure(error, retry_at or self._retry_at(attempt))

    async def _ask_error_handler(
        self, job: Job, error: AttemptError, exc: BaseException | None
    ) -> ErrorHandlerResult | None:
        handler = self._error_handler
        if handler is None:
            return None
        try:
            if exc is not None and is_panic(exc):
                result = await _call(handler.handle_panic(job, exc, error.trace))
            else:
                reported = exc if isinstance(exc, Exception) else RiverboatError(error.error)
                result = await _call(handler.handle_error(job, reported))
        except Exception:
            logger.exception("error handler failed for job %d (%s); using the retry policy", job.id, job.kind)
            return None
        if result is not None and not isinstance(result, ErrorHandlerResult):
            logger.error("error handler returned %r, not an ErrorHandlerResult or None; ignored", result)
            return None
        return result

    def _retry_at(self, attempt: _Attempt) -> datetime:
        now = datetime.now(UTC)
        job, plan, work_job = attempt.job, attempt.plan, attempt.work_job
        if plan is not None and work_job is not None:
            try:
                chosen = plan.worker.next_retry(work_job)
            except Exception:
                logger.exception("next_retry of %s failed; using the client's retry policy", job.kind)
                chosen = None
            if chosen is not None and chosen >= now:
                return chosen
        return self._retry_policy.next_retry(job, now)


def _uncancel_current_task() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        task.uncancel()
