"""Middleware, hooks and the error handler around inserting and working (spec/07-complete.md#middleware),
and the one log line of each outcome (spec/07-complete.md#logging)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import psycopg
import pytest

from riverboat import (
    AsyncClient,
    Client,
    ErrorHandler,
    ErrorHandlerResult,
    Hook,
    InsertOpts,
    InsertResult,
    Job,
    JobInsertParams,
    Middleware,
    QueueConfig,
    RawArgs,
    Worker,
    Workers,
    WorkJob,
    cancel,
    cancellation_requested,
    snooze,
)
from riverboat.errors import ValidationError
from riverboat.middleware import InsertNext, SyncInsertNext, WorkNext
from tests.helpers import await_until
from tests.worker_support import job_row, states

FAST = {
    "default": QueueConfig(
        max_workers=5, fetch_cooldown=timedelta(milliseconds=20), fetch_poll_interval=timedelta(milliseconds=50)
    )
}


class Recorder(Middleware, Hook):
    """Middleware and hook that writes what it sees to a shared log."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def insert_many(self, params: list[JobInsertParams], call_next: InsertNext) -> list[InsertResult]:
        self.log.append(f"{self.name}:insert>")
        for p in params:
            p.metadata[self.name] = True
        results = await call_next()
        self.log.append(f"{self.name}:insert<{len(results)}")
        return results

    def insert_many_sync(self, params: list[JobInsertParams], call_next: SyncInsertNext) -> list[InsertResult]:
        self.log.append(f"{self.name}:insert_sync>")
        for p in params:
            p.metadata[self.name] = True
        return call_next()

    async def work(self, job: Job, call_next: WorkNext) -> None:
        self.log.append(f"{self.name}:work>")
        try:
            await call_next()
        finally:
            self.log.append(f"{self.name}:work<")

    def insert_begin(self, params: JobInsertParams) -> None:
        self.log.append(f"{self.name}:insert_begin:{params.kind}")

    async def work_begin(self, job: Job) -> None:
        self.log.append(f"{self.name}:work_begin")

    def work_end(self, job: Job, error: BaseException | None) -> BaseException | None:
        self.log.append(f"{self.name}:work_end:{type(error).__name__ if error else None}")
        return error


LOG: list[str] = []


@dataclass
class Traced:
    kind: ClassVar[str] = "traced"
    middleware: ClassVar[list[Middleware]] = [Recorder("args", LOG)]
    hooks: ClassVar[list[Hook]] = [Recorder("args", LOG)]
    n: int


class TracedWorker(Worker[Traced]):
    kind = "traced"
    args_type = Traced
    middleware: ClassVar[list[Middleware]] = [Recorder("worker", LOG)]
    hooks: ClassVar[list[Hook]] = [Recorder("worker", LOG)]

    async def work(self, job: WorkJob[Traced]) -> None:
        LOG.append("work")
        if job.args.n == 2:
            raise ValueError("two")


@asynccontextmanager
async def working(db_url: str, *workers: Worker[Any], **options: Any) -> AsyncIterator[AsyncClient]:
    client = AsyncClient(db_url, queues=FAST, workers=Workers(*workers), leader_election=False, **options)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def _until_state(conn: psycopg.Connection[Any], job_id: int, *wanted: str) -> None:
    async def reached() -> bool:
        return states(conn, [job_id])[0] in wanted

    await await_until(reached, what=f"job {job_id} to be {' or '.join(wanted)}")


async def _until_failed(conn: psycopg.Connection[Any], job_id: int) -> None:
    async def failed() -> bool:
        return bool(job_row(conn, job_id)["errors"])

    await await_until(failed, what=f"job {job_id} to fail once")


async def test_insert_and_work_run_global_then_kind_middleware_and_hooks_in_order(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    LOG.clear()
    outer, inner = Recorder("global1", LOG), Recorder("global2", LOG)
    async with working(db_url, TracedWorker(), middleware=[outer, inner], hooks=[outer]) as client:
        inserted = await client.insert(Traced(1))
        assert LOG[:6] == [
            "global1:insert>",
            "global2:insert>",
            "args:insert>",
            "global1:insert_begin:traced",
            "args:insert_begin:traced",
            "args:insert<1",
        ]
        assert inserted.job.metadata == {"global1": True, "global2": True, "args": True}
        LOG.clear()
        await _until_state(conn, inserted.job.id, "completed")
    assert LOG == [
        "global1:work>",
        "global2:work>",
        "worker:work>",
        "global1:work_begin",
        "worker:work_begin",
        "work",
        "global1:work_end:None",
        "worker:work_end:None",
        "worker:work<",
        "global2:work<",
        "global1:work<",
    ]


def test_the_sync_client_runs_plain_insert_middleware(db_url: str) -> None:
    LOG.clear()
    with Client(db_url, middleware=[Recorder("sync", LOG)]) as client:
        job = client.insert(RawArgs("plain", {})).job
    assert LOG == ["sync:insert_sync>"]
    assert job.metadata == {"sync": True}


class Raising(Middleware, Hook):
    def __init__(self, where: str) -> None:
        self.where = where

    async def work(self, job: Job, call_next: WorkNext) -> None:
        if self.where == "middleware":
            raise RuntimeError("middleware broke")
        await call_next()

    def work_begin(self, job: Job) -> None:
        if self.where == "work_begin":
            raise RuntimeError("hook broke")

    def work_end(self, job: Job, error: BaseException | None) -> BaseException | None:
        if self.where == "work_end":
            return LookupError("replaced by work_end")
        return error


class Simple(Worker[Any]):
    kind = "simple"

    async def work(self, job: WorkJob[Any]) -> None:
        if job.args.get("mode") == "cancel":
            cancel("not wanted")
        if job.args.get("mode") == "snooze":
            snooze(timedelta(minutes=5))
        if job.args.get("mode") == "fail":
            raise ValueError("secret=hunter2 failed")
        if job.args.get("mode") == "panic":
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("middleware", "RuntimeError: middleware broke"),
        ("work_begin", "RuntimeError: hook broke"),
        ("work_end", "LookupError: replaced by work_end"),
    ],
)
async def test_a_failing_middleware_or_hook_fails_the_job_and_the_worker_carries_on(
    db_url: str, conn: psycopg.Connection[Any], where: str, error: str
) -> None:
    async with working(db_url, Simple(), middleware=[Raising(where)], hooks=[Raising(where)]) as client:
        first = (await client.insert(RawArgs("simple", {}))).job
        await _until_failed(conn, first.id)
        assert job_row(conn, first.id)["errors"][0]["error"] == error
        assert client._working is not None
        assert client._working.runtime.started


class Handler(ErrorHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str]] = []

    async def handle_error(self, job: Job, error: Exception) -> ErrorHandlerResult | None:
        self.seen.append(("error", job.id, type(error).__name__))
        if job.args.get("then") == "cancel":
            return ErrorHandlerResult(set_cancelled=True)
        if job.args.get("then") == "later":
            return ErrorHandlerResult(retry_at=datetime(2100, 1, 1, tzinfo=UTC))
        if job.args.get("then") == "raise":
            raise RuntimeError("handler broke")
        return None

    def handle_panic(self, job: Job, error: BaseException, trace: str) -> ErrorHandlerResult:
        self.seen.append(("panic", job.id, type(error).__name__))
        assert "KeyboardInterrupt" in trace
        return ErrorHandlerResult(set_cancelled=True)


async def test_the_error_handler_may_cancel_reschedule_or_leave_a_failure_alone(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    handler = Handler()
    async with working(db_url, Simple(), error_handler=handler) as client:
        jobs = [
            (await client.insert(RawArgs("simple", {"mode": "fail", "then": then}))).job
            for then in ("cancel", "later", "raise", "none")
        ]
        panic = (await client.insert(RawArgs("simple", {"mode": "panic"}))).job
        unknown = (await client.insert(RawArgs("nobody", {}))).job
        for job in [*jobs[:1], panic]:
            await _until_state(conn, job.id, "cancelled")
        for job in [*jobs[1:], unknown]:
            await _until_failed(conn, job.id)
    assert job_row(conn, jobs[1].id)["scheduled_at"] == datetime(2100, 1, 1, tzinfo=UTC)
    assert job_row(conn, jobs[0].id)["errors"][0]["error"] == "ValueError: secret=hunter2 failed"
    assert sorted(handler.seen) == sorted(
        [("error", job.id, "ValueError") for job in jobs]
        + [("panic", panic.id, "KeyboardInterrupt"), ("error", unknown.id, "RiverboatError")]
    )


def _records(caplog: pytest.LogCaptureFixture, job_id: int) -> list[logging.LogRecord]:
    """The executor's records of the job's first attempt (a failed job may have run again)."""
    return [
        r
        for r in caplog.records
        if r.name == "riverboat.executor" and getattr(r, "job_id", None) == job_id and getattr(r, "attempt", 0) == 1
    ]


async def test_each_outcome_is_logged_once_with_the_jobs_identity_and_never_its_args(
    db_url: str, conn: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="riverboat")
    async with working(db_url, Simple()) as client:
        ids = {}
        for mode in ("ok", "fail", "cancel", "snooze", "panic"):
            ids[mode] = (await client.insert(RawArgs("simple", {"mode": mode}))).job.id
        last = (await client.insert(RawArgs("simple", {"mode": "fail"}), InsertOpts(max_attempts=1))).job.id
        for job_id in [*ids.values(), last]:
            await _until_state(conn, job_id, "completed", "retryable", "cancelled", "scheduled", "discarded")
    expected = {
        "ok": (logging.DEBUG, "completed"),
        "fail": (logging.WARNING, "failed"),
        "cancel": (logging.INFO, "cancelled"),
        "snooze": (logging.INFO, "snoozed"),
        "panic": (logging.ERROR, "failed"),
    }
    for mode, (level, outcome) in expected.items():
        records = _records(caplog, ids[mode])
        assert len(records) == 1, mode
        record = records[0]
        assert (record.levelno, record.outcome, record.job_kind, record.queue, record.attempt) == (  # type: ignore[attr-defined]
            level, outcome, "simple", "default", 1
        )  # fmt: skip
        assert f"id={ids[mode]}" in record.getMessage()
    failed = _records(caplog, ids["fail"])[0]
    assert failed.error_class == "ValueError"  # type: ignore[attr-defined]
    assert "retrying at" in failed.getMessage()
    assert _records(caplog, ids["panic"])[0].exc_info is not None
    discarded = _records(caplog, last)
    assert [(r.levelno, r.outcome) for r in discarded] == [(logging.ERROR, "discarded")]  # type: ignore[attr-defined]
    for record in caplog.records:
        assert '"mode"' not in record.getMessage()
        assert "'mode'" not in json.dumps(record.__dict__, default=str)


async def test_a_worker_that_swallows_a_remote_cancel_and_returns_is_completed(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    started = asyncio.Event()

    class Stubborn(Worker[Any]):
        kind = "stubborn"

        async def work(self, job: WorkJob[Any]) -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                assert cancellation_requested()
                return

    async with working(db_url, Stubborn()) as client:
        job = (await client.insert(RawArgs("stubborn", {}))).job
        await asyncio.wait_for(started.wait(), 30)
        await client.job_cancel(job.id)
        await _until_state(conn, job.id, "completed")
    assert job_row(conn, job.id)["errors"] is None


class PutsNul(Middleware):
    async def insert_many(self, params: list[JobInsertParams], call_next: InsertNext) -> list[InsertResult]:
        params[0].metadata["note"] = "a\x00b"
        return await call_next()


async def test_what_insert_middleware_changes_is_checked_before_sending(db_url: str) -> None:
    async with (
        AsyncClient(db_url, middleware=[PutsNul()]) as client,
        await psycopg.AsyncConnection.connect(db_url) as tx,
    ):
        with pytest.raises(ValidationError) as refused:
            await client.insert_tx(tx, RawArgs("k", {}))
        assert (refused.value.field, refused.value.rule) == ("metadata", "json")
        # Nothing was sent: the caller's transaction is still usable.
        await tx.execute("SELECT 1")


class HangsInWorkBegin(Hook):
    async def work_begin(self, job: Job) -> None:
        await asyncio.Event().wait()


class QuickWithTimeout(Worker[Any]):
    kind = "quick_with_timeout"
    timeout = timedelta(milliseconds=200)

    async def work(self, job: WorkJob[Any]) -> None:
        return None


async def test_a_hook_that_hangs_past_the_job_timeout_fails_the_attempt(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with working(db_url, QuickWithTimeout(), hooks=[HangsInWorkBegin()]) as client:
        job = (await client.insert(RawArgs("quick_with_timeout", {}))).job
        await _until_failed(conn, job.id)
        assert job_row(conn, job.id)["errors"][0]["error"] == "job timed out after 0.2 s"
        assert client._working is not None
        assert client._working.runtime.started
