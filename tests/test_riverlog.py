"""riverboat.contrib.riverlog: per-job logs under ``river:log`` in River's riverlog layout
(spec/02-lifecycle.md#metadata): the middleware alone, then in a working client; the
River Go tests are in test_observe_interop.py."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from riverboat import Worker, WorkJob
from riverboat._states import JobState
from riverboat.contrib import riverlog
from riverboat.errors import RiverboatError, ValidationError
from riverboat.job import Job
from riverboat.worker import JobContext, bind_context
from tests.worker_support import insert_jobs, work_until_finalized

NOW = datetime(2026, 1, 2, tzinfo=UTC)
PLAIN = logging.Formatter("%(levelname)s %(message)s")


def make_job(*, attempt: int = 1, metadata: dict[str, Any] | None = None) -> Job:
    return Job(
        id=42, state=JobState.RUNNING, attempt=attempt, max_attempts=25, attempted_at=NOW, created_at=NOW,
        finalized_at=None, scheduled_at=NOW, priority=1, args={}, attempted_by=[], errors=[], kind="email",
        metadata=metadata or {}, queue="default", tags=[], unique_key=None, unique_states=None,
    )  # fmt: skip


async def run(job: Job, work: Any, middleware: riverlog.Middleware | None = None) -> dict[str, Any]:
    """Work ``job`` through the middleware with ``work`` as what it wraps; the metadata
    updates the attempt leaves."""
    context = JobContext(job)
    bind_context(context)

    async def call_next() -> None:
        result = work()
        if asyncio.iscoroutine(result):
            await result

    await (middleware or riverlog.Middleware(formatter=PLAIN)).work(job, call_next)
    return context.metadata_updates


async def test_an_attempts_log_is_one_entry() -> None:
    def work() -> None:
        riverlog.logger().info("sending to %s", "a@example.com")
        riverlog.logger().debug("not kept below INFO")
        riverlog.logger().warning("slow")

    updates = await run(make_job(attempt=3), work)
    assert updates == {"river:log": [{"attempt": 3, "log": "INFO sending to a@example.com\nWARNING slow\n"}]}


async def test_entries_of_earlier_attempts_are_kept_in_order() -> None:
    earlier = [{"attempt": 1, "log": "time=x level=INFO msg=go\n"}, {"attempt": 2, "log": "INFO two\n"}]
    job = make_job(attempt=3, metadata={"river:log": earlier, "other": 1})
    updates = await run(job, lambda: riverlog.logger().info("three"))
    assert updates["river:log"] == [*earlier, {"attempt": 3, "log": "INFO three\n"}]
    assert set(updates) == {"river:log"}


async def test_an_attempt_that_logs_nothing_adds_no_entry() -> None:
    assert await run(make_job(), lambda: None) == {}


@pytest.mark.parametrize("error", [RuntimeError("boom"), asyncio.CancelledError()])
async def test_the_log_is_kept_whatever_the_outcome(error: BaseException) -> None:
    context = JobContext(make_job())
    bind_context(context)

    async def call_next() -> None:
        riverlog.logger().info("before the end")
        raise error

    with pytest.raises(type(error)):
        await riverlog.Middleware(formatter=PLAIN).work(context.job, call_next)
    assert context.metadata_updates["river:log"] == [{"attempt": 1, "log": "INFO before the end\n"}]


async def test_a_sync_worker_thread_logs_to_its_job() -> None:
    def in_thread() -> None:
        riverlog.logger().info("from a thread")

    updates = await run(make_job(), lambda: asyncio.to_thread(in_thread))
    assert updates["river:log"] == [{"attempt": 1, "log": "INFO from a thread\n"}]


async def test_an_attempts_log_is_cut_to_max_size_bytes(caplog: pytest.LogCaptureFixture) -> None:
    middleware = riverlog.Middleware(formatter=logging.Formatter("%(message)s"), max_size_bytes=8)
    updates = await run(make_job(), lambda: riverlog.logger().info("abcdeféé"), middleware)
    # Cut at 8 bytes would split the second é: the partial character is left out.
    assert updates["river:log"] == [{"attempt": 1, "log": "abcdefé"}]
    assert "cut to 8" in caplog.text


def test_the_oldest_entries_go_when_all_would_pass_max_total_bytes() -> None:
    entries = [{"attempt": n, "log": "x" * 10} for n in (1, 2, 3)]
    one = len(json.dumps(entries[0], separators=(",", ":")))
    new = {"attempt": 4, "log": "y" * 10}
    # Room for exactly two entries and the new one: brackets and three commas' worth.
    kept, dropped = riverlog.append_entry(entries, new, 2 + 3 * one + 2)
    assert (kept, dropped) == ([entries[1], entries[2], new], 1)
    assert json.dumps(kept, separators=(",", ":")).__len__() <= 2 + 3 * one + 2
    # The newest entry stays even when it alone passes the cap.
    assert riverlog.append_entry(entries, new, 5) == ([new], 3)
    assert riverlog.append_entry([], new, 10**6) == ([new], 0)


async def test_a_river_log_written_badly_by_someone_else(caplog: pytest.LogCaptureFixture) -> None:
    for bad in ("SECRET-CONTENT", {"attempt": 1}, 7):
        updates = await run(make_job(attempt=2, metadata={"river:log": bad}), lambda: riverlog.logger().info("ok"))
        assert updates["river:log"] == [{"attempt": 2, "log": "INFO ok\n"}]
    assert "job 42 (email): metadata 'river:log' held a value that is not an array; replaced" in caplog.text
    assert "SECRET" not in caplog.text
    # Elements of an array are someone else's business: kept as they are, as River keeps them.
    odd = ["text", {"attempt": "1"}]
    updates = await run(make_job(attempt=2, metadata={"river:log": odd}), lambda: riverlog.logger().info("ok"))
    assert updates["river:log"] == [*odd, {"attempt": 2, "log": "INFO ok\n"}]


async def test_records_carry_the_job_and_propagate_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="riverboat.job")
    job = replace(make_job(attempt=2), queue="emails")
    await run(job, lambda: riverlog.logger().info("kept only", extra={"mine": 1}))
    assert [r for r in caplog.records if r.name == "riverboat.job"] == []
    await run(job, lambda: riverlog.logger().info("shared", extra={"mine": 1}), riverlog.Middleware(propagate=True))
    [record] = [r for r in caplog.records if r.name == "riverboat.job"]
    fields = {k: getattr(record, k) for k in ("job_kind", "job_id", "queue", "attempt", "mine")}
    assert fields == {"job_kind": "email", "job_id": 42, "queue": "emails", "attempt": 2, "mine": 1}


def test_logger_outside_a_job_says_what_to_do() -> None:
    with pytest.raises(RiverboatError, match=r"add riverboat.contrib.riverlog.Middleware\(\)"):
        riverlog.logger()


@pytest.mark.parametrize(
    ("options", "field"),
    [({"max_size_bytes": 0}, "max_size_bytes"), ({"max_total_bytes": 65 * 1024 * 1024}, "max_total_bytes")],
)
def test_sizes_are_checked(options: dict[str, int], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        riverlog.Middleware(**options)


class Chatty(Worker[Any]):
    """Logs through its own riverlog middleware (a worker's, not the client's); a def
    worker, so it logs from its thread."""

    kind = "chatty"
    middleware = (riverlog.Middleware(formatter=PLAIN),)

    def work(self, job: WorkJob[Any]) -> None:
        riverlog.logger().info("worked %s", job.args["n"])


async def test_a_working_client_stores_the_log_even_over_a_bad_one(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "chatty", [{"n": 1}])
    ids += insert_jobs(conn, "chatty", [{"n": 2}], metadata={"river:log": "written badly by someone else"})
    ids += insert_jobs(conn, "chatty", [{"n": 3}], metadata={"river:log": [{"attempt": 0, "log": "older\n"}]})
    jobs = await work_until_finalized(db_url, ids, Chatty())
    assert [(job.state, job.metadata["river:log"]) for job in jobs] == [
        ("completed", [{"attempt": 1, "log": "INFO worked 1\n"}]),
        ("completed", [{"attempt": 1, "log": "INFO worked 2\n"}]),
        ("completed", [{"attempt": 0, "log": "older\n"}, {"attempt": 1, "log": "INFO worked 3\n"}]),
    ]
