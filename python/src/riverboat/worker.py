"""Workers: the code that works one kind of job, the registry of them, and queue settings
(spec/07-complete.md#outcomes).

A worker subclasses ``Worker[Args]``, names its ``kind`` and implements ``work(job)``, either
``async def`` (run on the event loop) or plain ``def`` (run in a thread pool sized to the
queue's ``max_workers``); or it is a plain function registered with ``@workers.register(Args)``
(River's ``WorkFunc``). Inside ``work``, the module functions ``cancel``, ``snooze``,
``discard``, ``record_output``, ``set_metadata`` and ``cancellation_requested`` act on the
job being worked.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar, overload

import pydantic

from riverboat._defaults import (
    FETCH_COOLDOWN_DEFAULT,
    FETCH_INTERVAL_MIN,
    FETCH_POLL_INTERVAL_DEFAULT,
    MAX_WORKERS_DEFAULT,
    MAX_WORKERS_LIMIT,
)
from riverboat._rules import validate_count, validate_duration, validate_output, validate_worker_kind
from riverboat.errors import JobCancel, JobDiscard, JobSnooze, RiverboatError, ValidationError
from riverboat.job import Job
from riverboat.middleware import Hook, Middleware

Args = TypeVar("Args")

logger = logging.getLogger("riverboat")

#: The ``timeout`` meaning "never time out", as River's -1.
NO_TIMEOUT = timedelta(seconds=-1)


@dataclass(frozen=True)
class WorkJob(Generic[Args]):
    """What ``work`` receives: the row as fetched and its decoded args."""

    row: Job
    args: Args

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def queue(self) -> str:
        return self.row.queue

    @property
    def attempt(self) -> int:
        return self.row.attempt

    @property
    def metadata(self) -> dict[str, Any]:
        return self.row.metadata


@dataclass
class JobContext:
    """The per-attempt state behind the module functions; one per running job."""

    job: Job
    metadata_updates: dict[str, Any] = field(default_factory=dict)
    #: Set when the job should stop; a plain attribute, read by sync workers' threads.
    cancel_requested: bool = False
    #: Why the runtime interrupted the job ("job cancelled remotely", a timeout, a stop).
    cancel_reason: str | None = None
    #: The client working the job (``riverboat.current_client()``), when a client runs it.
    client: Any = None
    #: Set once ``complete_tx`` has completed the job in the worker's own transaction.
    completed_in_tx: bool = False

    def request_cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel_requested = True


_current: ContextVar[JobContext] = ContextVar("riverboat_job_context")


def current_context() -> JobContext:
    """The context of the job being worked; outside ``work`` this is an error."""
    try:
        return _current.get()
    except LookupError:
        raise RiverboatError("no job is being worked here: call this from inside Worker.work") from None


def bind_context(context: JobContext) -> None:
    """Make ``context`` current for the running task or thread (used by the executor)."""
    _current.set(context)


def cancel(reason: str = "cancelled by worker") -> None:
    """End the job ``cancelled`` (never retried); ``reason`` is recorded as its error."""
    raise JobCancel(reason)


def discard(reason: str = "discarded by worker") -> None:
    """End the job ``discarded`` (never retried); ``reason`` is recorded as its error."""
    raise JobDiscard(reason)


def snooze(duration: timedelta) -> None:
    """Run the job again after ``duration`` without using up an attempt."""
    raise JobSnooze(duration)


def record_output(value: Any) -> None:
    """Store ``value`` (JSON, at most 32 MB encoded) as ``metadata.output`` when the job ends."""
    current_context().metadata_updates["output"] = validate_output(value)


def set_metadata(key: str, value: Any) -> None:
    """Merge ``{key: value}`` into the job's metadata when the job ends (whatever the outcome)."""
    json.dumps(value)
    current_context().metadata_updates[key] = value


def cancellation_requested() -> bool:
    """True once the job should stop: timed out, cancelled remotely, or the client is stopping.
    Sync workers check this; async workers are cancelled as well."""
    return current_context().cancel_requested


class Worker(Generic[Args]):
    """Base class of a worker for one kind.

    Class attributes: ``kind`` (required), ``timeout`` (``None``: the client's job timeout;
    ``NO_TIMEOUT``: none), ``contract`` (a JSON Schema the args must satisfy, or ``None``),
    ``middleware`` and ``hooks`` (run around this worker's jobs after the client's own,
    see ``riverboat.middleware``).
    Override ``decode_args`` to build ``Args`` from the JSON object (by default, the object
    itself, or, with ``args_type`` set, the object decoded into that type as Go's
    ``encoding/json`` would: spec/05-args-contract.md#decoding), and ``next_retry`` to
    choose when a failed job runs again.
    """

    kind: ClassVar[str]
    args_type: ClassVar[type[Any] | None] = None
    timeout: ClassVar[timedelta | None] = None
    contract: ClassVar[Mapping[str, Any] | None] = None
    middleware: ClassVar[Sequence[Middleware]] = ()
    hooks: ClassVar[Sequence[Hook]] = ()

    def decode_args(self, raw: Any) -> Args:
        if not isinstance(raw, dict):
            raise ValidationError("args", "type", f"must be a JSON object, not {_json_type(raw)}")
        args_type = self.args_type
        if args_type is None:
            return raw  # type: ignore[return-value]
        try:
            decoded: Args = _args_adapter(args_type).validate_json(json.dumps(raw), strict=True)
        except pydantic.ValidationError as exc:
            raise _decode_error(args_type, exc) from None
        return decoded

    def work(self, job: WorkJob[Args]) -> Awaitable[None] | None:
        """Do the job. Return normally to complete it; raise to fail it (it is retried)."""
        raise NotImplementedError

    def next_retry(self, job: WorkJob[Args]) -> datetime | None:
        """When to retry after a failure; ``None`` leaves it to the client's retry policy."""
        return None


_args_adapters: dict[type[Any], pydantic.TypeAdapter[Any]] = {}


def _args_adapter(args_type: type[Any]) -> pydantic.TypeAdapter[Any]:
    """The pydantic adapter of an args type, built once per type."""
    adapter = _args_adapters.get(args_type)
    if adapter is None:
        adapter = _args_adapters[args_type] = pydantic.TypeAdapter(args_type)
    return adapter


def _json_type(value: object) -> str:
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, list):
        return "a JSON array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a JSON boolean"
    return "a JSON number"


def _decode_error(args_type: type[Any], exc: pydantic.ValidationError) -> ValidationError:
    """Every problem pydantic found, each named by its path in the args; never the values."""
    problems = exc.errors(include_url=False, include_input=False)
    paths = ["args" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]) for e in problems]
    message = "; ".join(f"{path}: {e['msg']}" for path, e in zip(paths, problems, strict=True))
    rule = "required" if problems[0]["type"] == "missing" else "type"
    return ValidationError(paths[0], rule, f"cannot decode into {args_type.__name__}: {message}")


def validate_plugins(field: str, plugins: Sequence[object], kind: type) -> tuple[Any, ...]:
    """A sequence of middleware or hooks, each an instance of ``kind``."""
    if isinstance(plugins, str | bytes) or not isinstance(plugins, Sequence):
        raise ValidationError(field, "type", f"must be a list of riverboat.{kind.__name__}", plugins)
    for plugin in plugins:
        if not isinstance(plugin, kind):
            raise ValidationError(field, "type", f"each must be a riverboat.{kind.__name__}", plugin)
    return tuple(plugins)


def resolve_timeout(worker_timeout: timedelta | None, default: timedelta) -> float | None:
    """Seconds a job may run, or ``None`` for no limit (a negative timeout means none)."""
    chosen = default if worker_timeout is None else worker_timeout
    return None if chosen < timedelta(0) else chosen.total_seconds()


WorkFunction = Callable[[WorkJob[Args]], Awaitable[None] | None]
NextRetryFunction = Callable[[WorkJob[Args]], datetime | None]


class FunctionWorker(Worker[Args]):
    """A worker whose ``work`` is a plain function (River's ``WorkFunc``), made by
    ``Workers.register``. Each function gets a subclass of its own, so its kind and options
    are class attributes as for any worker, and its ``work`` is ``async`` exactly when the
    function is."""

    def __init__(self, function: WorkFunction[Args], next_retry: NextRetryFunction[Args] | None) -> None:
        self.function = function
        self._next_retry = next_retry

    def next_retry(self, job: WorkJob[Args]) -> datetime | None:
        return None if self._next_retry is None else self._next_retry(job)

    def __repr__(self) -> str:
        return f"<FunctionWorker {self.kind} {getattr(self.function, '__qualname__', self.function)!r}>"


class _AsyncFunctionWorker(FunctionWorker[Args]):
    async def work(self, job: WorkJob[Args]) -> None:
        await self.function(job)  # type: ignore[misc]


class _SyncFunctionWorker(FunctionWorker[Args]):
    def work(self, job: WorkJob[Args]) -> None:
        self.function(job)


def _function_worker(
    function: WorkFunction[Any],
    args_type: type[Any] | str,
    *,
    timeout: timedelta | None,
    next_retry: NextRetryFunction[Any] | None,
    contract: Mapping[str, Any] | None,
) -> FunctionWorker[Any]:
    if not callable(function):
        raise ValidationError("worker", "type", "must be a function taking the job", function)
    if next_retry is not None and not callable(next_retry):
        raise ValidationError("next_retry", "type", "must be a function taking the job, or None", next_retry)
    kind = args_type if isinstance(args_type, str) else getattr(args_type, "kind", None)
    if not isinstance(kind, str):
        raise ValidationError(
            "args_type", "type", "must be a class with a `kind` class attribute, or a kind name", args_type
        )
    decoded_type = None if isinstance(args_type, str) else args_type
    base: type[FunctionWorker[Any]] = (
        _AsyncFunctionWorker if inspect.iscoroutinefunction(function) else _SyncFunctionWorker
    )
    attributes = {"kind": kind, "args_type": decoded_type, "timeout": timeout, "contract": contract}
    worker_class: type[FunctionWorker[Any]] = type(f"FunctionWorker[{kind}]", (base,), attributes)
    return worker_class(function, next_retry)


class Workers:
    """The registry of workers by kind. Registering a kind twice, or a worker without a valid
    kind, fails at once."""

    def __init__(self, *workers: Worker[Any]) -> None:
        self._by_kind: dict[str, Worker[Any]] = {}
        for worker in workers:
            self.add(worker)

    def add(self, worker: Worker[Any]) -> Worker[Any]:
        if not isinstance(worker, Worker):
            raise ValidationError("worker", "type", "must be an instance of riverboat.Worker", worker)
        kind = getattr(worker, "kind", None)
        if kind is None:
            raise ValidationError("worker.kind", "required", "every worker must name its kind", type(worker).__name__)
        validate_worker_kind(kind)
        if kind in self._by_kind:
            raise ValidationError("worker.kind", "duplicate", "is already registered", kind)
        if worker.timeout is not None and not isinstance(worker.timeout, timedelta):
            raise ValidationError("worker.timeout", "type", "must be a timedelta or None", worker.timeout)
        validate_plugins("worker.middleware", worker.middleware, Middleware)
        validate_plugins("worker.hooks", worker.hooks, Hook)
        self._by_kind[kind] = worker
        return worker

    @overload
    def register(
        self,
        args_type: type[Args],
        *,
        timeout: timedelta | None = None,
        next_retry: NextRetryFunction[Args] | None = None,
        contract: Mapping[str, Any] | None = None,
    ) -> Callable[[WorkFunction[Args]], FunctionWorker[Args]]: ...

    @overload
    def register(
        self,
        args_type: str,
        *,
        timeout: timedelta | None = None,
        next_retry: NextRetryFunction[Any] | None = None,
        contract: Mapping[str, Any] | None = None,
    ) -> Callable[[WorkFunction[Any]], FunctionWorker[Any]]: ...

    def register(
        self,
        args_type: type[Any] | str,
        *,
        timeout: timedelta | None = None,
        next_retry: NextRetryFunction[Any] | None = None,
        contract: Mapping[str, Any] | None = None,
    ) -> Callable[[WorkFunction[Any]], FunctionWorker[Any]]:
        """Register a function (``async def`` or ``def``, taking the ``WorkJob``) as the worker
        of ``args_type``'s kind (a class with ``kind``, or a kind name whose args stay a
        dict). The options are a class worker's: ``timeout``, ``next_retry`` (a function of
        the job) and ``contract``. Returns the registered ``FunctionWorker``::

            @workers.register(SendEmail, timeout=timedelta(seconds=30))
            async def send_email(job: WorkJob[SendEmail]) -> None: ...
        """

        def decorator(function: WorkFunction[Any]) -> FunctionWorker[Any]:
            worker = _function_worker(function, args_type, timeout=timeout, next_retry=next_retry, contract=contract)
            self.add(worker)
            return worker

        return decorator

    def get(self, kind: str) -> Worker[Any] | None:
        return self._by_kind.get(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_kind)

    def __len__(self) -> int:
        return len(self._by_kind)


@dataclass(frozen=True)
class QueueConfig:
    """How one client works one queue (River's defaults)."""

    max_workers: int = MAX_WORKERS_DEFAULT
    fetch_cooldown: timedelta = FETCH_COOLDOWN_DEFAULT
    fetch_poll_interval: timedelta = FETCH_POLL_INTERVAL_DEFAULT

    def __post_init__(self) -> None:
        validate_count("max_workers", self.max_workers, high=MAX_WORKERS_LIMIT)
        validate_duration("fetch_cooldown", self.fetch_cooldown, minimum=FETCH_INTERVAL_MIN, inclusive=True)
        validate_duration("fetch_poll_interval", self.fetch_poll_interval, minimum=FETCH_INTERVAL_MIN, inclusive=True)
        if self.fetch_poll_interval < self.fetch_cooldown:
            raise ValidationError(
                "fetch_poll_interval", "conflict", "must be at least fetch_cooldown", self.fetch_poll_interval
            )


@dataclass(frozen=True)
class JobStuckInfo:
    """A job still running well past its timeout (River's JobStuckHandlerParams)."""

    id: int
    kind: str
    queue: str
    #: Jobs of this client stuck right now, this one included.
    total_stuck_jobs: int


@dataclass(frozen=True)
class JobStuckResult:
    """What the stuck-job handler decides: ``add_worker_slot`` lets the job's queue start
    another job while the stuck one keeps its thread or task."""

    add_worker_slot: bool = False


JobStuckHandler = Callable[[JobStuckInfo], "JobStuckResult | None"]


class StuckJobs:
    """The client's count of stuck jobs and its handler (shared by its producers)."""

    def __init__(self, handler: JobStuckHandler | None = None) -> None:
        self._handler = handler
        self.count = 0

    def add(self) -> int:
        self.count += 1
        return self.count

    def remove(self) -> None:
        self.count -= 1

    def ask(self, info: JobStuckInfo) -> JobStuckResult | None:
        """The handler's decision; a failing or wrong-typed handler is logged and ignored."""
        if self._handler is None:
            return None
        try:
            result = self._handler(info)
        except Exception:
            logger.exception("job stuck handler failed for job %d (%s)", info.id, info.kind)
            return None
        if result is not None and not isinstance(result, JobStuckResult):
            logger.error("job stuck handler returned %r, not a JobStuckResult or None; ignored", result)
            return None
        return result
