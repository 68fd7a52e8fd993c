"""A River Go v0.51.2 client and a riverboat runtime on one database, each working the
other's inserts on its own queue, and a cancel issued from Go stopping a riverboat job."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from typing import Any

import psycopg
import pytest

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

            async def running() -> bool:
                return states(conn, blocked) == ["running"]

            await await_until(running, what="riverboat job running")
            await go.command(f"cancel {blocked[0]}")

            async def cancelled() -> bool:
                return states(conn, blocked) == ["cancelled"]

            await await_until(cancelled, what="cancel from Go stops the riverboat job")
            assert job_row(conn, blocked[0])["errors"][0]["error"] == "JobCancelError: job cancelled remotely"
    finally:
        if go.proc.poll() is None:
            await go.close()
