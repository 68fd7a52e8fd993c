"""Traces and per-job logs cross between River Go and riverboat on one database: otelriver
v0.12.0 and riverboat.contrib.opentelemetry continue each other's traces; River's riverlog
and riverboat.contrib.riverlog read and append each other's ``river:log``
(tests/go/cmd/riverobserve is the Go side)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import psycopg
import pytest

from riverboat import Client
from riverboat.contrib.opentelemetry import enqueued_span_context
from tests.helpers import go_binary
from tests.worker_support import insert_jobs

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
