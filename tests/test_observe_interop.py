"""Traces and per-job logs cross between River Go and riverboat on one database: otelriver
v0.12.0 and riverboat.contrib.opentelemetry continue each other's traces; River's riverlog
and riverboat.contrib.riverlog read and append each other's ``river:log``
(tests/go/cmd/riverobserve is the Go side)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from riverboat import Client, RawArgs, Worker, WorkJob
from riverboat.contrib import opentelemetry, riverlog
from riverboat.contrib.opentelemetry import enqueued_span_context
from tests.helpers import go_binary
from tests.worker_support import insert_jobs, work_until_finalized

pytestmark = pytest.mark.go


def riverobserve(db_url: str, mode: str, *options: str) -> Any:
    done = subprocess.run(
        [str(go_binary("riverobserve")), "-database-url", db_url, "-mode", mode, *options],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class OtelPyTask(Worker[Any]):
    kind = "otel_py_task"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


class LogPyTask(Worker[Any]):
    kind = "log_py_task"

    async def work(self, job: WorkJob[Any]) -> None:
        riverlog.logger().info("hello from python")


class LogGoTaskInPython(Worker[Any]):
    """Works River Go's log_go_task kind here, to continue a job Go attempted first."""

    kind = "log_go_task"

    def work(self, job: WorkJob[Any]) -> None:
        riverlog.logger().info("hello from python")


@pytest.fixture
def traces() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


async def test_a_trace_started_in_go_continues_in_a_riverboat_worker(
    db_url: str, traces: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = traces
    go = riverobserve(db_url, "otel-insert")
    middleware = opentelemetry.Middleware(enable_trace_propagation=True, tracer_provider=provider)
    [job] = await work_until_finalized(db_url, [go["job_id"]], OtelPyTask(), middleware=[middleware])
    assert job.state == "completed"
    [work] = [s for s in exporter.get_finished_spans() if s.name == "river.work"]
    assert [(f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") for link in work.links] == [
        (go["trace_id"], go["insert_span_id"])
    ]
    assert work.parent is None
    assert (work.attributes or {})["id"] == go["job_id"]


def test_a_trace_started_in_riverboat_continues_in_a_go_worker(
    db_url: str, traces: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = traces
    middleware = opentelemetry.Middleware(enable_trace_propagation=True, tracer_provider=provider)
    with Client(db_url, middleware=[middleware]) as client, provider.get_tracer("test").start_as_current_span("req"):
        inserted = client.insert(RawArgs("otel_go_task", {"n": 1})).job
    [insert] = [s for s in exporter.get_finished_spans() if s.name == "river.insert_many"]
    [go] = riverobserve(db_url, "otel-work", "-count", "1")
    assert go["job_id"] == inserted.id
    assert go["links"] == [{"trace_id": f"{insert.context.trace_id:032x}", "span_id": f"{insert.context.span_id:016x}"}]
    assert go["parent_span_id"] == ""
    assert go["trace_id"] != f"{insert.context.trace_id:032x}"


def test_a_go_insert_writes_the_trace_where_riverboat_reads_it(db_url: str) -> None:
    go = riverobserve(db_url, "otel-insert")
    with Client(db_url) as client:
        job = client.job_get(go["job_id"])
    context = enqueued_span_context(job.metadata)
    assert context is not None
    assert (f"{context.trace_id:032x}", f"{context.span_id:016x}") == (go["trace_id"], go["insert_span_id"])


def test_river_gos_riverlog_is_readable_by_riverboat(conn: psycopg.Connection[Any], db_url: str) -> None:
    [job_id] = insert_jobs(conn, "log_go_task", [{"fail": False}])
    riverobserve(db_url, "log-work", "-count", "1")
    with Client(db_url) as client:
        job = client.job_get(job_id)
    [entry] = job.metadata["river:log"]
    assert entry["attempt"] == 1
    assert "msg=\"hello from go\" attempt=1" in entry["log"]


async def test_riverboats_riverlog_is_readable_by_river_go(conn: psycopg.Connection[Any], db_url: str) -> None:
    [job_id] = insert_jobs(conn, "log_py_task", [{}])
    await work_until_finalized(db_url, [job_id], LogPyTask(), middleware=[riverlog.Middleware()])
    [entry] = riverobserve(db_url, "log-read", "-id", str(job_id))
    assert entry["attempt"] == 1
    assert entry["log"].endswith(" INFO hello from python\n")


async def test_attempts_in_go_then_riverboat_append_to_one_log(conn: psycopg.Connection[Any], db_url: str) -> None:
    [job_id] = insert_jobs(conn, "log_go_task", [{"fail": True}])
    riverobserve(db_url, "log-work", "-count", "1")
    with Client(db_url) as client:
        assert client.job_retry(job_id).attempt == 1
    [job] = await work_until_finalized(db_url, [job_id], LogGoTaskInPython(), middleware=[riverlog.Middleware()])
    go = riverobserve(db_url, "log-read", "-id", str(job_id))
    assert job.metadata["river:log"] == go
    assert [e["attempt"] for e in go] == [1, 2]
    assert 'msg="hello from go" attempt=1' in go[0]["log"]
    assert go[1]["log"].endswith(" INFO hello from python\n")
