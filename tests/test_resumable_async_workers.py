"""Resumable jobs in ``async def`` workers (spec/07-complete.md#resumable): River's step and
cursor rules, checked through the real executor and completion statement
(``riverboat.testing.work_job``: each call is one attempt, fed the metadata the previous one
stored) and through a running client for transactional checkpoints and stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import riverboat
from riverboat import (
    AsyncClient,
    EventKind,
    FunctionWorker,
    JobState,
    QueueConfig,
    RawArgs,
    RiverboatError,
    ValidationError,
    Workers,
    WorkJob,
)
from riverboat.events import Event
from riverboat.migrate import Migrator
from riverboat.testing import work_job
from tests import maintenance_support
from tests.helpers import await_until

aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

KIND = "resumable_test"
STEP = "river:resumable_step"
CURSOR = "river:resumable_cursor"
Work = Callable[[WorkJob[Any]], Awaitable[None]]


def _worker(work: Work, **options: Any) -> FunctionWorker[Any]:
    return Workers().register(KIND, **options)(work)


async def _attempt(conn: psycopg.AsyncConnection[Any], work: Work, metadata: dict[str, Any], **options: Any) -> Event:
    return await asyncio.wait_for(work_job(conn, _worker(work, **options), {}, metadata=metadata), timeout=60)


def _recorder(ran: list[str], name: str, error: BaseException | None = None) -> Callable[[], Awaitable[None]]:
    async def step() -> None:
        ran.append(name)
        if error is not None:
            raise error

    return step


async def test_steps_run_in_order_and_success_writes_no_progress(aconn: Any) -> None:
    ran: list[str] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            for name in ("one", "two", "three"):
                await steps.step(name, _recorder(ran, name))

    event = await _attempt(aconn, work, {"keep": 1})
    assert (event.kind, ran) == (EventKind.COMPLETED, ["one", "two", "three"])
    # River writes nothing on success: the progress of earlier attempts stays as it was.
    assert event.job.metadata == {"keep": 1}
    again = await _attempt(aconn, work, {STEP: "one", "keep": 1})
    assert again.job.metadata == {STEP: "one", "keep": 1}


async def test_a_completed_step_is_skipped_on_the_next_attempt(aconn: Any) -> None:
    ran: list[str] = []
    fail = [True]

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder(ran, "one"))
            await steps.step("two", _recorder(ran, "two", RuntimeError("boom") if fail[0] else None))
            await steps.step("three", _recorder(ran, "three"))

    first = await _attempt(aconn, work, {})
    assert (first.kind, ran) == (EventKind.FAILED, ["one", "two"])
    assert first.job.errors[-1].error == "RuntimeError: boom"
    assert first.job.metadata == {STEP: "one"}
    ran.clear()
    fail[0] = False
    second = await _attempt(aconn, work, first.job.metadata)
    assert (second.kind, ran) == (EventKind.COMPLETED, ["two", "three"])


@dataclass
class Cursor:
    id: int


@pytest.mark.parametrize("how", ["error", "snooze", "cancel", "discard"])
async def test_a_cursor_is_saved_when_the_attempt_ends_early(aconn: Any, how: str) -> None:
    async def interrupted(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def loop(cursor: Any) -> None:
                assert cursor is None
                steps.set_cursor(Cursor(id=7))
                if how == "snooze":
                    riverboat.snooze(timedelta(hours=1))
                if how == "cancel":
                    riverboat.cancel("enough")
                if how == "discard":
                    riverboat.discard("hopeless")
                raise RuntimeError("retry")

            await steps.step_cursor("loop", loop)

    first = await _attempt(aconn, interrupted, {})
    expected = {CURSOR: {"loop": {"id": 7}}}
    assert first.job.metadata == ({**expected, "snoozes": 1} if how == "snooze" else expected)

    seen: list[Any] = []

    async def resumed(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def loop(cursor: Any) -> None:
                seen.append(cursor)

            await steps.step_cursor("loop", loop)
            raise RuntimeError("later failure")

    # Without a completed step the retry starts from the top and hands the saved cursor
    # to its step; that step's completion then clears the consumed cursor with null.
    second = await _attempt(aconn, resumed, {CURSOR: {"loop": {"id": 7}}})
    assert seen == [{"id": 7}]
    assert second.job.metadata == {STEP: "loop", CURSOR: None}


async def test_a_resumed_cursor_step_then_later_steps_run(aconn: Any) -> None:
    ran: list[str] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder(ran, "one"))

            async def two(cursor: Any) -> None:
                ran.append(f"two from {cursor}")

            await steps.step_cursor("two", two)
            await steps.step("three", _recorder(ran, "three"))

    event = await _attempt(aconn, work, {STEP: "one", CURSOR: {"two": 42}})
    assert (event.kind, ran) == (EventKind.COMPLETED, ["two from 42", "three"])
    assert event.job.metadata == {STEP: "one", CURSOR: {"two": 42}}


async def test_a_timed_out_step_keeps_its_cursor(aconn: Any) -> None:
    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def loop(cursor: Any) -> None:
                steps.set_cursor({"page": 3})
                await asyncio.Event().wait()

            await steps.step("first", _recorder([], "first"))
            await steps.step_cursor("loop", loop)

    event = await _attempt(aconn, work, {}, timeout=timedelta(milliseconds=200))
    assert event.kind == EventKind.FAILED
    assert "timed out" in event.job.errors[-1].error
    assert event.job.metadata == {STEP: "first", CURSOR: {"loop": {"page": 3}}}


async def test_a_step_name_used_twice_fails_the_attempt(aconn: Any) -> None:
    ran: list[str] = []
    raised: list[ValidationError] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder(ran, "first"))
            try:
                await steps.step("one", _recorder(ran, "second"))
            except ValidationError as exc:
                raised.append(exc)
            # Caught or not, the attempt fails: no later step runs.
            await steps.step("two", _recorder(ran, "two"))

    event = await _attempt(aconn, work, {})
    assert ran == ["first"]
    assert (raised[0].field, raised[0].rule, raised[0].value) == ("step", "duplicate", "one")
    assert event.kind == EventKind.FAILED
    assert "invalid step (duplicate)" in event.job.errors[-1].error
    assert event.job.metadata == {STEP: "one"}


async def test_a_caught_step_failure_still_fails_the_attempt(aconn: Any) -> None:
    ran: list[str] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder(ran, "one"))
            with contextlib.suppress(RuntimeError):
                await steps.step("two", _recorder(ran, "two", RuntimeError("two broke")))
            await steps.step("three", _recorder(ran, "three"))

    event = await _attempt(aconn, work, {})
    assert ran == ["one", "two"]
    assert (event.kind, event.job.errors[-1].error) == (EventKind.FAILED, "RuntimeError: two broke")
    assert event.job.metadata == {STEP: "one"}


async def test_a_cursor_that_is_not_json_fails_the_step(aconn: Any) -> None:
    raised: list[ValidationError] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder([], "one"))

            async def loop(cursor: Any) -> None:
                steps.set_cursor(5)
                try:
                    steps.set_cursor({"at": object()})
                except ValidationError as exc:
                    raised.append(exc)
                    raise

            await steps.step_cursor("loop", loop)

    event = await _attempt(aconn, work, {})
    assert (raised[0].field, raised[0].rule) == ("cursor.at", "json")
    assert event.kind == EventKind.FAILED
    # The last good cursor is kept.
    assert event.job.metadata == {STEP: "one", CURSOR: {"loop": 5}}


async def test_steps_cannot_be_nested(aconn: Any) -> None:
    ran: list[str] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("before", _recorder(ran, "before"))

            async def parent(cursor: Any) -> None:
                steps.set_cursor(1)
                await steps.step("child", _recorder(ran, "child"))

            await steps.step_cursor("parent", parent)
            await steps.step("after", _recorder(ran, "after"))

    event = await _attempt(aconn, work, {})
    assert ran == ["before"]
    assert "invalid step (conflict): steps cannot be nested" in event.job.errors[-1].error
    assert event.job.metadata == {STEP: "before", CURSOR: {"parent": 1}}


async def test_progress_naming_steps_the_worker_lacks_fails_the_attempt(aconn: Any) -> None:
    ran: list[str] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("one", _recorder(ran, "one"))
            await steps.step("two", _recorder(ran, "two"))

    unknown_step = await _attempt(aconn, work, {STEP: "renamed"})
    assert ran == []
    assert f"invalid metadata.{STEP} (choice)" in unknown_step.job.errors[-1].error
    assert unknown_step.job.metadata == {STEP: "renamed"}

    unknown_cursor = await _attempt(aconn, work, {CURSOR: {"renamed": 3}})
    assert ran == ["one", "two"]
    assert f"invalid metadata.{CURSOR} (choice)" in unknown_cursor.job.errors[-1].error
    # Nothing advances past a cursor that was never reached again.
    assert unknown_cursor.job.metadata == {CURSOR: {"renamed": 3}}

    ran.clear()
    plain_with_cursor = await _attempt(aconn, work, {CURSOR: {"two": 3}})
    assert ran == ["one"]
    assert "invalid step (conflict)" in plain_with_cursor.job.errors[-1].error

    not_an_object = await _attempt(aconn, work, {CURSOR: [1, 2]})
    assert f"invalid metadata.{CURSOR} (type)" in not_an_object.job.errors[-1].error


async def test_misuse_is_reported_with_its_rule(aconn: Any) -> None:
    with pytest.raises(RiverboatError, match=r"inside Worker\.work"):
        async with riverboat.resumable():
            pass
    problems: list[tuple[str, str]] = []

    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:
            for misuse in (lambda: steps.set_cursor(1), lambda: steps.set_step_tx(aconn)):
                try:
                    result = misuse()
                    if asyncio.iscoroutine(result):
                        await result
                except ValidationError as exc:
                    problems.append((exc.field, exc.rule))

            async def plain() -> None:
                try:
                    steps.set_cursor(1)
                except ValidationError as exc:
                    problems.append((exc.field, exc.rule))

            await steps.step("plain", plain)
        try:
            async with riverboat.resumable():
                pass
        except ValidationError as exc:
            problems.append((exc.field, exc.rule))

    event = await _attempt(aconn, work, {})
    assert event.kind == EventKind.COMPLETED
    assert problems == [
        ("cursor", "conflict"),
        ("step", "required"),
        ("cursor", "conflict"),
        ("resumable", "duplicate"),
    ]


# A running client: checkpoints in the caller's transaction, and stops.

QUEUES = {"default": QueueConfig(max_workers=2, fetch_poll_interval=timedelta(milliseconds=100))}


async def _work_until_completed(db_url: str, workers: Workers, schema: str | None = None) -> Any:
    """Insert one job of the test kind, work it with a client until it completes; its row."""
    async with AsyncClient(db_url, queues=QUEUES, workers=workers, schema=schema) as client:
        job_id = (await client.insert(RawArgs(KIND, {}))).job.id
        await client.start()
        try:
            return await await_until(lambda: _completed(client, job_id), timeout=60, what="job completed")
        finally:
            await client.stop()


async def _completed(client: AsyncClient, job_id: int) -> Any:
    job = await client.job_get(job_id)
    return job if job.state == JobState.COMPLETED else None


@pytest.mark.parametrize("commit", [True, False])
async def test_set_step_tx_persists_with_the_callers_transaction(db_url: str, commit: bool) -> None:
    ran: list[tuple[int, str]] = []
    workers = Workers()

    @workers.register(KIND, next_retry=lambda job: datetime.now(UTC))
    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def write() -> None:
                ran.append((job.attempt, "write"))
                conn = await psycopg.AsyncConnection.connect(db_url)
                async with conn, conn.transaction(force_rollback=not commit):
                    row = await steps.set_step_tx(conn)
                    assert row.metadata[STEP] == "write"
                if job.attempt == 1:
                    raise RuntimeError("after the checkpoint")

            await steps.step("write", write)
            await steps.step("after", _recorder_with_attempt(ran, job.attempt, "after"))

    done = await _work_until_completed(db_url, workers)
    if commit:
        assert ran == [(1, "write"), (2, "after")]
        assert done.metadata == {STEP: "write", CURSOR: None}
    else:
        assert ran == [(1, "write"), (2, "write"), (2, "after")]
        assert done.metadata == {}


def _recorder_with_attempt(ran: list[tuple[int, str]], attempt: int, name: str) -> Callable[[], Awaitable[None]]:
    async def step() -> None:
        ran.append((attempt, name))

    return step


async def test_set_step_cursor_tx_resumes_from_the_checkpoint(db_url: str) -> None:
    seen: list[tuple[int, Any]] = []
    workers = Workers()

    @workers.register(KIND, next_retry=lambda job: datetime.now(UTC))
    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def pages(cursor: Any) -> None:
                seen.append((job.attempt, cursor))
                start = 0 if cursor is None else cursor["next"]
                async with await psycopg.AsyncConnection.connect(db_url) as conn:
                    for page in range(start, 4):
                        async with conn.transaction():
                            await steps.set_step_cursor_tx(conn, {"next": page + 1})
                        if job.attempt == 1 and page == 1:
                            # A checkpoint outlives the crash of its attempt.
                            raise RuntimeError("crash after page 1")

            await steps.step_cursor("pages", pages)

    done = await _work_until_completed(db_url, workers)
    assert seen == [(1, None), (2, {"next": 2})]
    assert done.metadata == {STEP: "pages", CURSOR: {"pages": {"next": 4}}}


async def test_stop_and_cancel_saves_the_cursor(db_url: str) -> None:
    started = asyncio.Event()
    workers = Workers()

    @workers.register(KIND)
    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def loop(cursor: Any) -> None:
                steps.set_cursor({"row": 10})
                started.set()
                await asyncio.Event().wait()

            await steps.step("first", _recorder([], "first"))
            await steps.step_cursor("loop", loop)

    async with AsyncClient(db_url, queues=QUEUES, workers=workers) as client:
        job_id = (await client.insert(RawArgs(KIND, {}))).job.id
        await client.start()
        try:
            await asyncio.wait_for(started.wait(), timeout=60)
        finally:
            await client.stop_and_cancel()
        job = await client.job_get(job_id)
    assert (job.state, job.attempt) == (JobState.AVAILABLE, 0)
    assert job.metadata == {STEP: "first", CURSOR: {"loop": {"row": 10}}}


async def test_checkpoints_use_the_schema_of_the_client_working_the_job(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA jobs")
        migrator = Migrator(conn, schema="jobs")
        for line in migrator.lines():
            migrator.up(line=line)
    ran: list[int] = []
    workers = Workers()

    @workers.register(KIND, next_retry=lambda job: datetime.now(UTC))
    async def work(job: WorkJob[Any]) -> None:
        async with riverboat.resumable() as steps:

            async def once() -> None:
                ran.append(job.attempt)
                # A connection on the default search_path, where River's tables are not.
                conn = await psycopg.AsyncConnection.connect(bare_db_url)
                async with conn, conn.transaction():
                    await steps.set_step_tx(conn)
                raise RuntimeError("after the checkpoint")

            await steps.step("once", once)

    done = await _work_until_completed(bare_db_url, workers, schema="jobs")
    assert ran == [1]
    assert done.metadata == {STEP: "once", CURSOR: None}
