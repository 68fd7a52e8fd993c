"""Function workers (River's WorkFunc): plain ``async def`` and ``def`` functions registered
with ``@workers.register(ArgsType, ...)``, with a class worker's options."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from riverboat import (
    AsyncClient,
    EventKind,
    FunctionWorker,
    JobState,
    QueueConfig,
    ValidationError,
    Worker,
    Workers,
    WorkJob,
    record_output,
)
from riverboat.testing import work_job
from tests import maintenance_support
from tests.helpers import await_until

aconn = maintenance_support.aconn
river_url = maintenance_support.river_url


@dataclass
class SendEmail:
    kind: ClassVar[str] = "send_email"
    to: str


@dataclass
class Resize:
    kind: ClassVar[str] = "resize"
    width: int


async def test_async_and_def_functions_work_side_by_side(db_url: str) -> None:
    sent: list[str] = []
    resized: list[tuple[int, str]] = []
    workers = Workers()

    @workers.register(SendEmail)
    async def send_email(job: WorkJob[SendEmail]) -> None:
        sent.append(job.args.to)

    @workers.register(Resize)
    def resize(job: WorkJob[Resize]) -> None:
        resized.append((job.args.width, threading.current_thread().name))

    assert isinstance(send_email, FunctionWorker)
    assert isinstance(resize, Worker)
    assert (workers.get("send_email"), workers.get("resize")) == (send_email, resize)
    queues = {"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))}
    async with AsyncClient(db_url, queues=queues, workers=workers) as client:
        results = await client.insert_many([SendEmail("a@example.com"), Resize(640), SendEmail("b@example.com")])
        await client.start()
        try:
            await await_until(
                lambda: _all_completed(client, [r.job.id for r in results]), timeout=60, what="jobs completed"
            )
        finally:
            await client.stop()
    assert sorted(sent) == ["a@example.com", "b@example.com"]
    assert [width for width, _ in resized] == [640]
    # The def function ran in a worker thread, not on the event loop's.
    assert resized[0][1] != threading.current_thread().name


async def _all_completed(client: AsyncClient, ids: list[int]) -> bool:
    return [(await client.job_get(i)).state for i in ids] == [JobState.COMPLETED] * len(ids)


async def test_a_kind_named_by_string_gets_the_raw_args(aconn: Any) -> None:
    workers = Workers()

    @workers.register("legacy_report")
    async def report(job: WorkJob[dict[str, Any]]) -> None:
        record_output({"got": job.args})

    event = await asyncio.wait_for(work_job(aconn, report, {"day": "mon"}), timeout=60)
    assert (event.kind, event.job.kind, event.job.metadata["output"]) == (
        EventKind.COMPLETED,
        "legacy_report",
        {"got": {"day": "mon"}},
    )


async def test_timeout_applies_to_function_workers(aconn: Any) -> None:
    workers = Workers()

    @workers.register(SendEmail, timeout=timedelta(milliseconds=100))
    async def slow(job: WorkJob[SendEmail]) -> None:
        await asyncio.Event().wait()

    event = await asyncio.wait_for(work_job(aconn, slow, SendEmail("x@example.com")), timeout=60)
    assert event.kind == EventKind.FAILED
    assert event.job.errors[-1].error == "job timed out after 0.1 s"


async def test_next_retry_applies_to_function_workers(aconn: Any) -> None:
    retry_at = datetime(2040, 1, 2, 3, 4, 5, tzinfo=UTC)
    workers = Workers()

    @workers.register(Resize, next_retry=lambda job: retry_at if job.args.width > 0 else None)
    async def failing(job: WorkJob[Resize]) -> None:
        raise RuntimeError("no")

    event = await asyncio.wait_for(work_job(aconn, failing, Resize(10)), timeout=60)
    assert (event.kind, event.job.state, event.job.scheduled_at) == (EventKind.FAILED, JobState.RETRYABLE, retry_at)
    assert event.job.errors[-1].error == "RuntimeError: no"


async def test_contract_applies_to_function_workers(aconn: Any) -> None:
    workers = Workers()
    contract = {"type": "object", "properties": {"width": {"type": "integer", "minimum": 1}}, "required": ["width"]}

    @workers.register(Resize, contract=contract)
    async def resize(job: WorkJob[Resize]) -> None:
        raise AssertionError("args breaking the contract never reach work")

    event = await asyncio.wait_for(work_job(aconn, resize, {"width": 0}), timeout=60)
    assert event.kind == EventKind.DISCARDED
    assert "/width" in event.job.errors[-1].error


def test_registration_errors_name_the_rule() -> None:
    workers = Workers()

    @workers.register(SendEmail)
    async def first(job: WorkJob[SendEmail]) -> None:
        pass

    async def second(job: WorkJob[SendEmail]) -> None:
        pass

    with pytest.raises(ValidationError) as duplicate:
        workers.register(SendEmail)(second)
    assert (duplicate.value.field, duplicate.value.rule) == ("worker.kind", "duplicate")

    class NoKind:
        pass

    problems = [
        lambda: workers.register(NoKind)(second),
        lambda: workers.register("not a kind!")(second),
        lambda: workers.register(Resize)("not a function"),  # type: ignore[arg-type]
        lambda: workers.register(Resize, timeout=5)(second),  # type: ignore[arg-type]
        lambda: workers.register(Resize, next_retry="soon")(second),  # type: ignore[arg-type]
    ]
    found = []
    for problem in problems:
        with pytest.raises(ValidationError) as bad:
            problem()
        found.append((bad.value.field, bad.value.rule))
    assert found == [
        ("args_type", "type"),
        ("worker.kind", "pattern"),
        ("worker", "type"),
        ("worker.timeout", "type"),
        ("next_retry", "type"),
    ]
    assert list(workers) == ["send_email"]
