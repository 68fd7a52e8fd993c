"""OpenTelemetry traces and metrics for riverboat, the same as River Go's ``otelriver``
middleware (github.com/riverqueue/rivercontrib/otelriver v0.12.0) emits, so one dashboard
serves River Go and riverboat services. Needs ``opentelemetry-api`` (``pip install
'riverboat[otel]'``) and, to export anything, an SDK configured by the application::

    client = AsyncClient(url, queues=..., workers=...,
                         middleware=[opentelemetry.Middleware(enable_trace_propagation=True)])

Spans: ``river.insert_many`` (kind PRODUCER) around every batch insert and ``river.work``
(kind CONSUMER; ``river.work/<kind>`` with ``enable_work_span_job_kind_suffix``) around
working a job, with otelriver's attributes and the messaging semantic conventions'
(``messaging.system`` ``river``, ``messaging.operation.*``, ``messaging.destination.name``
the queue, ``messaging.message.id`` the job id).

Metrics (units ``{job}``, ``{job_batch}`` and ``duration_unit``, ``s`` or ``ms``):
``river.insert_count`` (attributes ``status``, ``unique_skipped_as_duplicate``),
``river.insert_many_count``, ``river.insert_many_duration`` (gauge) and
``river.insert_many_duration_histogram`` (``status``); ``river.work_count``,
``river.work_duration`` (gauge) and ``river.work_duration_histogram`` (``attempt``,
``kind``, ``priority``, ``queue``, ``status``, ``tag``, and ``cancel`` or ``snooze`` when
the job asked for either); ``river.job_get_available_duration`` and
``river.job_get_available_count`` (histograms, attribute ``queue``) after each fetch, through
``metric_emit``. ``status`` is ``ok`` (a snooze too), ``error`` or ``panic`` (a
``BaseException`` that is neither an ``Exception`` nor a cancellation). With
``enable_semantic_metrics`` also ``messaging.client.sent.messages``,
``messaging.client.consumed.messages``, ``messaging.client.operation.duration`` and
``messaging.process.duration``.

Trace propagation (``enable_trace_propagation``, off by default as in otelriver): an insert
writes the W3C ``traceparent`` (and ``tracestate``, when there is one) of its span as
top-level keys of each job's metadata (spec/02-lifecycle.md#metadata); working a job
whose metadata holds a valid ``traceparent`` links the work span to it. The work span is
not its child: it starts a trace of its own, since a job may run long after its insert.
A ``traceparent`` that is not valid W3C is ignored: the job is worked without the link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from riverboat import __version__, middleware
from riverboat.errors import JobCancel, JobSnooze, ValidationError
from riverboat.job import InsertResult, Job

#: The instrumentation scope of every span and metric.
SCOPE: Final = "riverboat.contrib.opentelemetry"
DURATION_UNITS: Final = ("s", "ms")

_PROPAGATOR: Final = TraceContextTextMapPropagator()
_MESSAGING_SYSTEM: Final = "river"


class Middleware(middleware.Middleware):
    """Spans and metrics around inserting and working jobs; the options are otelriver's
    ``MiddlewareConfig``. ``tracer_provider`` and ``meter_provider`` default to the global
    ones."""

    def __init__(
        self,
        *,
        duration_unit: str = "s",
        enable_semantic_metrics: bool = False,
        enable_trace_propagation: bool = False,
        enable_work_span_job_kind_suffix: bool = False,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        if duration_unit not in DURATION_UNITS:
            raise ValidationError("duration_unit", "choice", "must be 's' or 'ms'", duration_unit)
        self.duration_unit = duration_unit
        self.enable_trace_propagation = enable_trace_propagation
        self.enable_work_span_job_kind_suffix = enable_work_span_job_kind_suffix
        self._tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        self._instruments = _Instruments(
            metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider),
            duration_unit,
            enable_semantic_metrics,
        )

    async def insert_many(
        self, params: list[middleware.JobInsertParams], call_next: middleware.InsertNext
    ) -> list[InsertResult]:
        with self._inserting(params) as outcome:
            outcome.results = await call_next()
            return outcome.results

    def insert_many_sync(
        self, params: list[middleware.JobInsertParams], call_next: middleware.SyncInsertNext
    ) -> list[InsertResult]:
        with self._inserting(params) as outcome:
            outcome.results = call_next()
            return outcome.results

    async def work(self, job: Job, call_next: middleware.WorkNext) -> None:
        with self._working(job):
            await call_next()

    def metric_emit(self, metric: middleware.JobGetAvailableMetric) -> None:
        attributes = {"queue": metric.queue}
        self._instruments.job_get_available_duration.record(self._duration(metric.duration.total_seconds()), attributes)
        self._instruments.job_get_available_count.record(metric.count, attributes)

    def _duration(self, seconds: float) -> float:
        # As otelriver: whole milliseconds when the unit is ms.
        return float(int(seconds * 1000)) if self.duration_unit == "ms" else seconds

    @contextmanager
    def _inserting(self, params: list[middleware.JobInsertParams]) -> Iterator[_Outcome]:
        queues = {p.queue for p in params}
        with self._tracer.start_as_current_span(
            "river.insert_many",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": _MESSAGING_SYSTEM,
                "messaging.operation.name": "insert_many",
                "messaging.operation.type": "send",
                "messaging.batch.message_count": len(params),
                **({"messaging.destination.name": next(iter(queues))} if len(queues) == 1 else {}),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if self.enable_trace_propagation:
                for one in params:
                    _PROPAGATOR.inject(one.metadata)
            outcome = _Outcome()
            begin = perf_counter()
            try:
                yield outcome
            except BaseException as exc:
                outcome.error = exc
                raise
            finally:
                self._record_insert(span, params, outcome, self._duration(perf_counter() - begin))

    def _record_insert(
        self, span: Span, params: list[middleware.JobInsertParams], outcome: _Outcome, duration: float
    ) -> None:
        status = _set_status(span, outcome.error)
        skipped = sum(1 for r in outcome.results if r.unique_skipped_as_duplicate)
        span.set_attributes(
            {
                "status": status,
                "kinds": sorted({p.kind for p in params}),
                "unique_skipped_as_duplicate_count": skipped,
            }
        )
        attributes = {"status": status}
        instruments = self._instruments
        inserted = len(params) - skipped
        if inserted > 0:
            instruments.insert_count.add(inserted, {**attributes, "unique_skipped_as_duplicate": False})
        if skipped > 0:
            instruments.insert_count.add(skipped, {**attributes, "unique_skipped_as_duplicate": True})
        instruments.insert_many_count.add(1, attributes)
        instruments.insert_many_duration.set(duration, attributes)
        instruments.insert_many_duration_histogram.record(duration, attributes)
        if instruments.semantic is not None:
            semantic_attributes = {"messaging.operation.name": "insert_many", "messaging.system": _MESSAGING_SYSTEM}
            instruments.semantic.operation_duration.record(duration, semantic_attributes)
            instruments.semantic.sent_messages.add(len(params), semantic_attributes)

    @contextmanager
    def _working(self, job: Job) -> Iterator[None]:
        links = []
        if self.enable_trace_propagation:
            enqueued = enqueued_span_context(job.metadata)
            if enqueued is not None:
                links.append(Link(enqueued))
        name = f"river.work/{job.kind}" if self.enable_work_span_job_kind_suffix else "river.work"
        with self._tracer.start_as_current_span(
            name,
            # A trace of its own, whatever span was current where the client started.
            context=Context(),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": _MESSAGING_SYSTEM,
                "messaging.operation.name": "work",
                "messaging.operation.type": "process",
                "messaging.destination.name": job.queue,
                "messaging.message.id": str(job.id),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            begin = perf_counter()
            error: BaseException | None = None
            try:
                yield
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._record_work(span, job, error, self._duration(perf_counter() - begin))

    def _record_work(self, span: Span, job: Job, error: BaseException | None, duration: float) -> None:
        attributes: dict[str, AttributeValue] = {
            "attempt": job.attempt,
            "kind": job.kind,
            "priority": job.priority,
            "queue": job.queue,
            "status": _set_status(span, error),
            "tag": tuple(job.tags),
        }
        if isinstance(error, JobCancel):
            attributes["cancel"] = True
        elif isinstance(error, JobSnooze):
            attributes["snooze"] = True
            span.set_attribute("snooze.duration", go_duration(error.duration))
        elif error is not None and not isinstance(error, asyncio.CancelledError):
            span.record_exception(error)
        span.set_attributes(
            {
                "id": job.id,
                "created_at": _rfc3339_seconds(job.created_at),
                "scheduled_at": _rfc3339_seconds(job.scheduled_at),
                **attributes,
            }
        )
        instruments = self._instruments
        instruments.work_count.add(1, attributes)
        instruments.work_duration.set(duration, attributes)
        instruments.work_duration_histogram.record(duration, attributes)
        if instruments.semantic is not None:
            semantic_attributes = {"messaging.operation.name": "work", "messaging.system": _MESSAGING_SYSTEM}
            instruments.semantic.consumed_messages.add(1, semantic_attributes)
            instruments.semantic.operation_duration.record(duration, semantic_attributes)
            instruments.semantic.process_duration.record(duration, semantic_attributes)


def enqueued_span_context(metadata: dict[str, Any]) -> trace.SpanContext | None:
    """The span context of the insert that enqueued a job, from the W3C ``traceparent``
    (and ``tracestate``) among the string values of its metadata; ``None`` when there is
    none or it is not valid."""
    carrier = {key: value for key, value in metadata.items() if isinstance(value, str)}
    extracted = trace.get_current_span(_PROPAGATOR.extract(carrier, Context())).get_span_context()
    return extracted if extracted.is_valid else None


@dataclass
class _Outcome:
    results: list[InsertResult] = field(default_factory=list)
    error: BaseException | None = None


def _set_status(span: Span, error: BaseException | None) -> str:
    """otelriver's status of an operation, also set on its span."""
    if error is None or isinstance(error, JobSnooze):
        # A snooze is flow control, not a failure.
        span.set_status(Status(StatusCode.OK))
        return "ok"
    if isinstance(error, Exception | asyncio.CancelledError):
        span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__name__))
        return "error"
    span.set_status(Status(StatusCode.ERROR, "panic"))
    return "panic"


def _rfc3339_seconds(value: datetime) -> str:
    """Go's ``time.RFC3339`` layout (whole seconds), in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(value: timedelta) -> str:
    """``value`` as Go's ``time.Duration.String`` writes it: ``1h0m0s``, ``1m30.5s``, ``250ms``."""
    nanoseconds = (value.days * 86_400 + value.seconds) * 10**9 + value.microseconds * 1000
    sign, nanoseconds = ("-" if nanoseconds < 0 else ""), abs(nanoseconds)
    if nanoseconds == 0:
        return "0s"
    if nanoseconds < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if nanoseconds >= size:
                return sign + _decimal(nanoseconds, size) + unit
    hours, rest = divmod(nanoseconds, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _decimal(rest, 10**9) + "s"


def _decimal(numerator: int, size: int) -> str:
    whole, fraction = divmod(numerator, size)
    digits = len(str(size)) - 1
    return str(whole) + (("." + f"{fraction:0{digits}d}".rstrip("0")) if fraction else "")


class _SemanticInstruments:
    """The messaging semantic conventions' metrics (otelriver's EnableSemanticMetrics)."""

    def __init__(self, meter: metrics.Meter, duration_unit: str) -> None:
        self.consumed_messages = meter.create_counter(
            "messaging.client.consumed.messages",
            description="Number of messages that were delivered to the application.",
        )
        self.operation_duration = meter.create_histogram(
            "messaging.client.operation.duration",
            unit=duration_unit,
            description="Duration of messaging operation initiated by a producer or consumer client.",
        )
        self.sent_messages = meter.create_counter(
            "messaging.client.sent.messages", description="Number of messages producer attempted to send to the broker."
        )
        self.process_duration = meter.create_histogram(
            "messaging.process.duration", unit=duration_unit, description="Duration of processing operation."
        )


class _Instruments:
    """otelriver's metrics: names, units and descriptions."""

    def __init__(self, meter: metrics.Meter, duration_unit: str, semantic: bool) -> None:
        self.insert_count = meter.create_counter(
            "river.insert_count", unit="{job}", description="Number of jobs inserted"
        )
        self.insert_many_count = meter.create_counter(
            "river.insert_many_count",
            unit="{job_batch}",
            description="Number of job batches inserted (all jobs are inserted in a batch, but batches may be one job)",
        )
        self.insert_many_duration = meter.create_gauge(
            "river.insert_many_duration", unit=duration_unit, description="Duration of job batch insertion"
        )
        self.insert_many_duration_histogram = meter.create_histogram(
            "river.insert_many_duration_histogram",
            unit=duration_unit,
            description="Duration of job batch insertion (histogram)",
        )
        self.work_count = meter.create_counter("river.work_count", unit="{job}", description="Number of jobs worked")
        self.work_duration = meter.create_gauge(
            "river.work_duration", unit=duration_unit, description="Duration of job being worked"
        )
        self.work_duration_histogram = meter.create_histogram(
            "river.work_duration_histogram", unit=duration_unit, description="Duration of job being worked (histogram)"
        )
        self.job_get_available_duration = meter.create_histogram(
            "river.job_get_available_duration",
            unit=duration_unit,
            description="Duration of successful JobGetAvailable calls",
        )
        self.job_get_available_count = meter.create_histogram(
            "river.job_get_available_count",
            unit="{job}",
            description="Number of jobs locked by successful JobGetAvailable calls",
        )
        self.semantic = _SemanticInstruments(meter, duration_unit) if semantic else None
