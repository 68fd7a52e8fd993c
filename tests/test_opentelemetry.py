"""riverboat.contrib.opentelemetry through the middleware alone, with the SDK's in-memory
exporters: otelriver v0.12.0's span and metric names, units and attributes, and its trace
propagation; then in real clients. The River Go tests are in test_observe_interop.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from riverboat import AsyncClient, InsertManyParams, InsertOpts, RawArgs, Worker, WorkJob
from riverboat._states import JobState
from riverboat.contrib.opentelemetry import Middleware, enqueued_span_context, go_duration
from riverboat.errors import JobCancel, JobSnooze, ValidationError
from riverboat.job import InsertResult, Job
from riverboat.middleware import JobInsertParams
from tests.worker_support import insert_jobs, work_until_finalized

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def middleware(self, **options: Any) -> Middleware:
        meter_provider = MeterProvider(metric_readers=[self.reader])
        return Middleware(tracer_provider=self.tracer_provider, meter_provider=meter_provider, **options)

    def span(self, name: str) -> ReadableSpan:
        [span] = [s for s in self.spans.get_finished_spans() if s.name == name]
        return span

    def metrics(self) -> dict[str, tuple[str, list[tuple[dict[str, Any], Any]]]]:
        """name: (unit, [(attributes, value)]); a histogram's value is its count."""
        data = self.reader.get_metrics_data()
        found = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "riverboat.contrib.opentelemetry"
                for metric in scope.metrics:
                    points = [
                        (dict(p.attributes or {}), getattr(p, "value", None) if hasattr(p, "value") else p.count)
                        for p in metric.data.data_points
                    ]
                    found[metric.name] = (metric.unit or "", points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield Telemetry(provider, spans, InMemoryMetricReader())
    provider.shutdown()


def insert_params(kind: str, metadata: dict[str, Any] | None = None) -> JobInsertParams:
    return JobInsertParams(
        kind=kind, args=b"{}", metadata=metadata if metadata is not None else {}, queue="default", priority=1,
        max_attempts=25, created_at=NOW, scheduled_at=NOW, state=JobState.AVAILABLE, tags=[], unique_key=None,
        unique_states=None,
    )  # fmt: skip


def make_job(metadata: dict[str, Any] | None = None, **changes: Any) -> Job:
    job = Job(
        id=7, state=JobState.RUNNING, attempt=2, max_attempts=25, attempted_at=NOW, created_at=NOW,
        finalized_at=None, scheduled_at=NOW, priority=3, args={}, attempted_by=[], errors=[], kind="email",
        metadata=metadata or {}, queue="mail", tags=["a", "b"], unique_key=None, unique_states=None,
    )  # fmt: skip
    return replace(job, **changes)


def results(*skipped: bool) -> list[InsertResult]:
    return [InsertResult(make_job(id=n), s) for n, s in enumerate(skipped)]


async def test_insert_span_and_metrics(telemetry: Telemetry) -> None:
    middleware = telemetry.middleware()
    params = [insert_params("b"), insert_params("a"), insert_params("b")]

    async def call_next() -> list[InsertResult]:
        return results(False, True, False)

    assert [r.unique_skipped_as_duplicate for r in await middleware.insert_many(params, call_next)] == [
        False, True, False,
    ]  # fmt: skip
    span = telemetry.span("river.insert_many")
    assert span.kind is SpanKind.PRODUCER
    assert span.status.status_code is StatusCode.OK
    assert dict(span.attributes or {}) == {
        "status": "ok",
        "kinds": ("a", "b"),
        "unique_skipped_as_duplicate_count": 1,
        "messaging.system": "river",
        "messaging.operation.name": "insert_many",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": 3,
        "messaging.destination.name": "default",
    }
    metrics = telemetry.metrics()
    assert metrics["river.insert_count"] == (
        "{job}",
        [({"status": "ok", "unique_skipped_as_duplicate": False}, 2),
         ({"status": "ok", "unique_skipped_as_duplicate": True}, 1)],
    )  # fmt: skip
    assert metrics["river.insert_many_count"] == ("{job_batch}", [({"status": "ok"}, 1)])
    assert metrics["river.insert_many_duration"][0] == "s"
    assert metrics["river.insert_many_duration_histogram"] == ("s", [({"status": "ok"}, 1)])
    assert not any(name.startswith("messaging.") for name in metrics)


def test_a_failed_sync_insert_is_an_error(telemetry: Telemetry) -> None:
    middleware = telemetry.middleware(enable_semantic_metrics=True)

    def call_next() -> list[InsertResult]:
        raise RuntimeError("insert refused")

    with pytest.raises(RuntimeError, match="insert refused"):
        middleware.insert_many_sync([insert_params("a")], call_next)
    span = telemetry.span("river.insert_many")
    assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, "insert refused")
    metrics = telemetry.metrics()
    assert metrics["river.insert_count"][1] == [({"status": "error", "unique_skipped_as_duplicate": False}, 1)]
    semantic = {"messaging.operation.name": "insert_many", "messaging.system": "river"}
    assert metrics["messaging.client.sent.messages"] == ("", [(semantic, 1)])
    assert metrics["messaging.client.operation.duration"] == ("s", [(semantic, 1)])


class Panic(BaseException):
    """Stands for a BaseException that is neither an Exception nor a cancellation."""


@pytest.mark.parametrize(
    ("error", "status", "extra"),
    [
        (None, "ok", {}),
        (RuntimeError("boom"), "error", {}),
        (asyncio.CancelledError(), "error", {}),
        (JobCancel("no"), "error", {"cancel": True}),
        (JobSnooze(timedelta(minutes=1, seconds=30)), "ok", {"snooze": True}),
        (Panic(), "panic", {}),
    ],
)
async def test_work_span_and_metrics(
    telemetry: Telemetry, error: BaseException | None, status: str, extra: dict[str, Any]
) -> None:
    middleware = telemetry.middleware(enable_semantic_metrics=True)

    async def call_next() -> None:
        if error is not None:
            raise error

    if error is None:
        await middleware.work(make_job(), call_next)
    else:
        with pytest.raises(type(error)):
            await middleware.work(make_job(), call_next)
    attributes = {"attempt": 2, "kind": "email", "priority": 3, "queue": "mail", "status": status, "tag": ("a", "b")}
    attributes |= extra
    span = telemetry.span("river.work")
    assert span.kind is SpanKind.CONSUMER
    assert span.status.status_code is (StatusCode.OK if status == "ok" else StatusCode.ERROR)
    span_attributes = dict(span.attributes or {})
    assert span_attributes.items() >= {
        **attributes,
        "id": 7,
        "created_at": "2026-01-02T03:04:05Z",
        "scheduled_at": "2026-01-02T03:04:05Z",
        "messaging.system": "river",
        "messaging.destination.name": "mail",
        "messaging.message.id": "7",
    }.items()
    if isinstance(error, JobSnooze):
        assert span_attributes["snooze.duration"] == "1m30s"
    metrics = telemetry.metrics()
    assert metrics["river.work_count"] == ("{job}", [(attributes, 1)])
    assert metrics["river.work_duration"][0] == "s"
    assert metrics["river.work_duration"][1][0][0] == attributes
    assert metrics["river.work_duration_histogram"] == ("s", [(attributes, 1)])
    semantic = {"messaging.operation.name": "work", "messaging.system": "river"}
    assert metrics["messaging.client.consumed.messages"] == ("", [(semantic, 1)])
    assert metrics["messaging.client.operation.duration"] == ("s", [(semantic, 1)])
    assert metrics["messaging.process.duration"] == ("s", [(semantic, 1)])


async def test_durations_in_whole_milliseconds(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> None:
    middleware = telemetry.middleware(duration_unit="ms")
    clock = iter([10.0, 10.0025])
    monkeypatch.setattr("riverboat.contrib.opentelemetry.perf_counter", lambda: next(clock))

    async def call_next() -> None:
        return None

    await middleware.work(make_job(), call_next)
    unit, [(_, value)] = telemetry.metrics()["river.work_duration"]
    assert unit == "ms"
    assert value == 2  # 2.5 ms in whole milliseconds, as otelriver's Duration.Milliseconds()
    with pytest.raises(ValidationError, match="duration_unit"):
        Middleware(duration_unit="us")


async def test_work_span_name_with_kind_suffix(telemetry: Telemetry) -> None:
    async def call_next() -> None:
        return None

    await telemetry.middleware(enable_work_span_job_kind_suffix=True).work(make_job(), call_next)
    assert telemetry.span("river.work/email").kind is SpanKind.CONSUMER


async def test_trace_propagation_links_the_work_span_to_the_insert(telemetry: Telemetry) -> None:
    middleware = telemetry.middleware(enable_trace_propagation=True)
    params = [insert_params("a", {"mine": 1}), insert_params("a")]

    async def inserted() -> list[InsertResult]:
        return results(False, False)

    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request"):
        await middleware.insert_many(params, inserted)
    insert = telemetry.span("river.insert_many")
    assert insert.parent is not None
    assert insert.parent.span_id == telemetry.span("request").context.span_id
    context = insert.context
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    assert [p.metadata for p in params] == [{"mine": 1, "traceparent": traceparent}, {"traceparent": traceparent}]

    worked = []

    async def call_next() -> None:
        worked.append(True)

    # Worked where another span is current: the work span is still a root, linked, not parented.
    with tracer.start_as_current_span("unrelated"):
        await middleware.work(make_job(params[0].metadata), call_next)
    work = telemetry.span("river.work")
    assert worked == [True]
    assert work.parent is None
    assert work.context.trace_id != insert.context.trace_id
    assert [(link.context.trace_id, link.context.span_id) for link in work.links] == [
        (insert.context.trace_id, insert.context.span_id)
    ]


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"traceparent": "garbage"},
        {"traceparent": "00-00000000000000000000000000000000-b7ad6b7169203331-01"},
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"},
        {"traceparent": "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        {"traceparent": "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"},
        {"traceparent": 12},
        {"traceparent": ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]},
    ],
)
async def test_a_traceparent_that_is_not_valid_w3c_is_worked_without_a_link(
    telemetry: Telemetry, metadata: dict[str, Any]
) -> None:
    worked = []

    async def call_next() -> None:
        worked.append(True)

    await telemetry.middleware(enable_trace_propagation=True).work(make_job(metadata), call_next)
    assert worked == [True]
    assert telemetry.span("river.work").links == ()
    assert telemetry.span("river.work").status.status_code is StatusCode.OK


def test_tracestate_travels_with_traceparent() -> None:
    metadata = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "vendor=abc",
    }
    context = enqueued_span_context(metadata)
    assert context is not None
    assert (context.trace_id, context.span_id) == (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)
    assert context.trace_state.to_header() == "vendor=abc"
    assert context.is_remote


async def test_without_propagation_nothing_is_written_or_linked(telemetry: Telemetry) -> None:
    middleware = telemetry.middleware()
    params = [insert_params("a")]

    async def inserted() -> list[InsertResult]:
        return results(False)

    async def call_next() -> None:
        return None

    await middleware.insert_many(params, inserted)
    assert params[0].metadata == {}
    valid = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    await middleware.work(make_job(valid), call_next)
    assert telemetry.span("river.work").links == ()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(minutes=1, seconds=30, milliseconds=500), "1m30.5s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(microseconds=3), "3µs"),
        (timedelta(days=2, seconds=1), "48h0m1s"),
        (-timedelta(seconds=2), "-2s"),
    ],
)
def test_go_duration(value: timedelta, text: str) -> None:
    assert go_duration(value) == text


class Fails(Worker[Any]):
    kind = "fails"

    async def work(self, job: WorkJob[Any]) -> None:
        raise RuntimeError("on purpose")


async def test_in_a_working_client(telemetry: Telemetry, conn: psycopg.Connection[Any], db_url: str) -> None:
    middleware = telemetry.middleware(enable_trace_propagation=True)
    async with AsyncClient(db_url, middleware=[middleware]) as client:
        opts = InsertOpts(max_attempts=1, tags=["tagged"])
        inserted = await client.insert_many([InsertManyParams(RawArgs("fails", {}), opts)] * 2)
        await client.insert_many_fast([InsertManyParams(RawArgs("fails", {}), InsertOpts(max_attempts=1))])
    assert [r.unique_skipped_as_duplicate for r in inserted] == [False, False]
    ids = [row[0] for row in conn.execute("SELECT id FROM river_job ORDER BY id")]
    # Another service wrote a traceparent that is not W3C: the job is worked all the same.
    ids += insert_jobs(conn, "fails", [{}], max_attempts=1, metadata={"traceparent": "00-not-w3c-01"})
    jobs = await work_until_finalized(db_url, ids, Fails(), middleware=[middleware])
    assert [job.state for job in jobs] == ["discarded"] * 4
    assert all(job.errors[0].error == "RuntimeError: on purpose" for job in jobs)

    metrics = telemetry.metrics()
    assert metrics["river.insert_count"][1] == [({"status": "ok", "unique_skipped_as_duplicate": False}, 3)]
    assert metrics["river.insert_many_count"][1] == [({"status": "ok"}, 2)]
    work_attributes = {"attempt": 1, "kind": "fails", "priority": 1, "queue": "default", "status": "error"}
    assert sorted(metrics["river.work_count"][1], key=lambda p: p[0]["tag"]) == [
        ({**work_attributes, "tag": ()}, 2),
        ({**work_attributes, "tag": ("tagged",)}, 2),
    ]
    # Every fetch emits otelriver's JobGetAvailable metrics: together they locked the four jobs.
    fetch_unit, fetched = metrics["river.job_get_available_count"]
    assert fetch_unit == "{job}"
    assert [attributes for attributes, _ in fetched] == [{"queue": "default"}]
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    locked = [
        point.sum
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "river.job_get_available_count"
        for point in metric.data.data_points
    ]
    assert locked == [4]
    assert metrics["river.job_get_available_duration"][0] == "s"
    inserts = {s.context.span_id for s in telemetry.spans.get_finished_spans() if s.name == "river.insert_many"}
    works = [s for s in telemetry.spans.get_finished_spans() if s.name == "river.work"]
    assert sorted(len(s.links) for s in works) == [0, 1, 1, 1]
    assert {link.context.span_id for s in works for link in s.links} == inserts
