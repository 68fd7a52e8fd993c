"""A River Go v0.51.2 client and a riverboat runtime on one database, each working the
other's inserts on its own queue, and a cancel issued from Go stopping a riverboat job;
River Go's behaviour in corners riverboat matches (spec/06-fetch.md, spec/02-lifecycle.md)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from riverboat._time import parse_time
from riverboat.cli import main
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob
from tests.helpers import await_until, go_binary
from tests.worker_support import insert_jobs, job_row, running_runtime, states

pytestmark = pytest.mark.go


class PyTask(Worker[Any]):
    kind = "py_task"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


class PyBlock(Worker[Any]):
    kind = "py_block"

    async def work(self, job: WorkJob[Any]) -> None:
        await asyncio.Event().wait()  # until cancelled


class GoProcess:
    def __init__(self, db_url: str) -> None:
        self.proc = subprocess.Popen(
            [str(go_binary("riverworker")), "-database-url", db_url, "-id", "go_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    async def expect(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.to_thread(self.proc.stdout.readline)
            assert line, "riverworker exited"
            if line.startswith(prefix):
                return line.strip()
            assert not line.startswith("error"), line

    async def expect_log(self, *fragments: str) -> str:
        """The first of River's log lines holding every fragment."""
        while True:
            line = await self.expect("log ")
            if all(fragment in line for fragment in fragments):
                return line

    async def command(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        await self.expect("ok")

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        await self.expect("stopped")
        await asyncio.to_thread(self.proc.wait, 30)


async def cancel_from_go(go: GoProcess, conn: psycopg.Connection[Any], job_id: int, *, what: str) -> None:
    """Once riverboat runs ``job_id``, River Go cancels it; riverboat must record the cancel."""

    async def running() -> bool:
        return states(conn, [job_id]) == ["running"]

    await await_until(running, what="riverboat job running")
    await go.command(f"cancel {job_id}")

    async def cancelled() -> bool:
        return states(conn, [job_id]) == ["cancelled"]

    await await_until(cancelled, timeout=30, what=what)
    assert job_row(conn, job_id)["errors"][0]["error"] == "JobCancelError: job cancelled remotely"


async def test_mixed_fleet(conn: psycopg.Connection[Any], db_url: str) -> None:
    go = GoProcess(db_url)
    try:
        await go.expect("started")
        queues = {"py_queue": QueueConfig(max_workers=10, fetch_poll_interval=timedelta(milliseconds=200))}
        async with running_runtime(db_url, Workers(PyTask(), PyBlock()), queues=queues, client_id="py_worker"):
            await go.command("insert 20")
            go_ids = insert_jobs(conn, "go_task", [{"n": i} for i in range(20)], queue="go_queue", notify=True)

            async def all_done() -> bool:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE kind = 'py_task' AND attempted_by = '{py_worker}'),"
                    " count(*) FILTER (WHERE kind = 'go_task' AND attempted_by = '{go_worker}')"
                    " FROM river_job WHERE state = 'completed'"
                ).fetchone()
                return row == (20, 20)

            await await_until(all_done, timeout=30, what="each side worked the other's inserts")
            assert states(conn, go_ids) == ["completed"] * 20

            blocked = insert_jobs(conn, "py_block", [{}], queue="py_queue", notify=True)
            await cancel_from_go(go, conn, blocked[0], what="cancel from Go stops the riverboat job")
    finally:
        if go.proc.poll() is None:
            await go.close()


def _truncated_to_microseconds(text: str) -> str:
    """An RFC 3339 UTC time with its fraction cut to six digits, as a microsecond clock reads it."""
    head, _, fraction = text.removesuffix("Z").partition(".")
    return f"{head}.{fraction[:6].ljust(6, '0')}Z" if fraction else f"{head}Z"


async def test_go_nanosecond_error_times_read_in_attempt_order_with_z(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    go = GoProcess(db_url)
    try:
        await go.expect("started")
        [job_id] = insert_jobs(conn, "go_fail", [{}], queue="go_queue", max_attempts=3, notify=True)

        async def discarded() -> bool:
            return states(conn, [job_id]) == ["discarded"]

        await await_until(discarded, timeout=60, what="River Go fails the job three times")
    finally:
        if go.proc.poll() is None:
            await go.close()
    written = [json.loads(e)["at"] for (e,) in conn.execute(
        "SELECT unnest(errors)::text FROM river_job WHERE id = %s", (job_id,)
    ).fetchall()]
    # River Go writes time.Now() with nanoseconds (trailing zeros trimmed).
    assert any(len(at.removesuffix("Z").partition(".")[2]) > 6 for at in written), written

    result = CliRunner().invoke(main, ["jobs", "get", str(job_id), "--json"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    errors = shown["errors"]
    assert [e["attempt"] for e in errors] == [1, 2, 3]
    assert [e["error"] for e in errors] == ["go_fail always fails"] * 3
    for key in ("created_at", "scheduled_at", "attempted_at", "finalized_at"):
        assert shown[key].endswith("Z"), (key, shown[key])
    for ours, theirs in zip(errors, written, strict=True):
        assert ours["at"].endswith("Z")
        assert parse_time(ours["at"]) == parse_time(_truncated_to_microseconds(theirs))
    read = [parse_time(e["at"]) for e in errors]
    assert read == sorted(read)


async def test_river_go_stalls_a_queue_whose_first_row_is_at_the_largest_attempt(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    # attempt is a smallint: River's fetch (attempt + 1) fails for the whole batch, every time.
    [stuck] = insert_jobs(conn, "go_task", [{}], queue="go_queue", max_attempts=32767)
    conn.execute("UPDATE river_job SET attempt = 32767, priority = 1 WHERE id = %s", (stuck,))
    [behind] = insert_jobs(conn, "go_task", [{}], queue="go_queue")
    conn.execute("UPDATE river_job SET priority = 2 WHERE id = %s", (behind,))
    go = GoProcess(db_url)
    try:
        await go.expect("started")
        await go.expect_log("Error fetching jobs", "out of range")
        await go.expect_log("Error fetching jobs", "out of range")
        assert states(conn, [stuck, behind]) == ["available", "available"]
    finally:
        if go.proc.poll() is None:
            await go.close()


async def test_a_cancel_from_go_reaches_a_poll_only_riverboat(conn: psycopg.Connection[Any], db_url: str) -> None:
    # River Go's JobCancel notifies, but a poll-only client does not listen: it polls, as River's does.
    go = GoProcess(db_url)
    try:
        await go.expect("started")
        queues = {"py_queue": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=200))}
        async with running_runtime(db_url, Workers(PyBlock()), queues=queues, poll_only=True):
            blocked = insert_jobs(conn, "py_block", [{}], queue="py_queue")
            await cancel_from_go(go, conn, blocked[0], what="the poll-only client polls the cancel")
    finally:
        if go.proc.poll() is None:
            await go.close()
