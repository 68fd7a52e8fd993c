"""Burn-down benchmark of the reference worker (issue 4, item 12). Not a test.

Inserts N no-op jobs, works them with one runtime (asyncio workers), then does the same
with a raw-SQL baseline: the runtime's own fetch and completion statements in a tight loop
from Python, batch 100. Prints jobs/s for both and their ratio.

    python bench/worker_burndown.py [--jobs 100000] [--max-workers 1000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._complete import batch_params
from riverboat._execute import Completion
from riverboat._queries import query
from riverboat._runtime import Runtime
from riverboat.devdb import DevDatabase
from riverboat.events import EventKind
from riverboat.migrate import Migrator
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob


class Noop(Worker[Any]):
    kind = "noop"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


def insert(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE river_job")
        conn.execute(
            "INSERT INTO river_job (args, kind) SELECT '{}'::jsonb, 'noop' FROM generate_series(1, %s)", (count,)
        )
        conn.execute("VACUUM ANALYZE river_job")


def remaining(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM river_job WHERE state <> 'completed'").fetchone()
        return int(row[0]) if row else 0


async def run_runtime(url: str, count: int, max_workers: int) -> float:
    insert(url, count)
    async with AsyncConnectionPool(url, min_size=4, max_size=8, open=False, kwargs={"autocommit": True}) as pool:
        runtime = Runtime(
            pool=pool,
            listener_conninfo=url,
            workers=Workers(Noop()),
            queues={
                "default": QueueConfig(
                    max_workers=max_workers,
                    fetch_cooldown=timedelta(milliseconds=1),
                    fetch_poll_interval=timedelta(milliseconds=50),
                )
            },
        )
        t0 = time.perf_counter()
        await runtime.start()
        # Polled from a separate connection so that no event subscriber slows the runtime.
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
            while True:
                await asyncio.sleep(0.1)
                cur = await watcher.execute("SELECT count(*) FROM river_job WHERE state <> 'completed'")
                row = await cur.fetchone()
                if row is not None and row[0] == 0:
                    break
        elapsed = time.perf_counter() - t0
        await runtime.stop()
    assert remaining(url) == 0
    return count / elapsed


def run_baseline(url: str, count: int) -> float:
    insert(url, count)
    fetch = query("job_get_available", None)
    complete = query("job_set_state_if_running_many", None)
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        while True:
            cur.execute(fetch, {"queue": "default", "max_to_lock": 100, "client_id": "baseline"})
            rows = cur.fetchall()
            if not rows:
                break
            now = datetime.now(UTC)
            batch = [
                Completion(
                    job_id=r["id"],
                    state="completed",
                    outcome=EventKind.COMPLETED,
                    duration=timedelta(0),
                    finalized_at=now,
                )
                for r in rows
            ]
            cur.execute(complete, batch_params(batch))
            cur.fetchall()
    elapsed = time.perf_counter() - t0
    assert remaining(url) == 0
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--max-workers", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="profile the runtime run with pyinstrument")
    options = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="riverboat-bench-")
    os.chmod(directory, 0o755)
    server = DevDatabase(f"{directory}/db")
    url = server.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrator = Migrator(conn)
            for line in migrator.lines():
                migrator.up(line=line)
        baseline = run_baseline(url, options.jobs)
        if options.profile:
            from pyinstrument import Profiler  # noqa: PLC0415

            with Profiler(async_mode="enabled") as profiler:
                runtime = asyncio.run(run_runtime(url, options.jobs, options.max_workers))
            profiler.print(show_all=False)
        else:
            runtime = asyncio.run(run_runtime(url, options.jobs, options.max_workers))
        print(f"jobs: {options.jobs}")
        print(f"baseline (raw SQL, batch 100): {baseline:,.0f} jobs/s")
        print(f"runtime (asyncio workers, max_workers={options.max_workers}): {runtime:,.0f} jobs/s")
        print(f"ratio: {runtime / baseline:.2f}")
    finally:
        server.destroy()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
