"""The measurements of bench/compare that are neither `riverboat bench` nor a peer: the raw-SQL
limit of working, `riverboat work` as users run it, and the insert paths. Not a test. Prints
one JSON object (with the timed phase's figures of ``cputime.Stopwatch``).

    python bench/measure.py raw-limit        --database-url URL [--jobs 200000] [--batch 100] [--connections 4]
    python bench/measure.py work             --database-url URL [--jobs 200000] [--processes 1]
    python bench/measure.py raw-copy         --database-url URL [--jobs 600000] [--batch 1000]
    python bench/measure.py insert-one       --database-url URL [--jobs 5000]
    python bench/measure.py insert-many      --database-url URL [--jobs 600000] [--batch 1000]
    python bench/measure.py insert-many-fast --database-url URL [--jobs 600000] [--batch 1000]

raw-limit fills the table (COPY), then times riverboat's own fetch and batched-completion
statements with no worker around them, as fast as a plain client can drive them:
``connections`` connections side by side, each in pipeline mode sending the completion of
its last batch and the fetch of its next in one round trip.

work fills the table, registers the queue paused, starts ``riverboat work --processes N``
on bench/work_target.py (riverboat bench's burn-down settings), and once every process says
it is working resumes the queue and times until no job is left available or running; the
CPU time is that of the whole process tree (supervisor and children).

raw-copy times riverboat's COPY statement fed with ready-made rows through the same COPY
transport (column types set once), without riverboat's validation and encoding. The
insert-* modes time ``AsyncClient.insert`` (one job per call and transaction),
``insert_many`` and ``insert_many_fast`` (``batch`` jobs per call). Every insert mode first
inserts one job untimed (opening its connection), as River Go's InsertMany does in
bench/go.

Burn-downs run ``VACUUM ANALYZE`` once the jobs are in, right before timing. The database
must be migrated and empty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cputime import Stopwatch, tree_cpu_seconds

from riverboat import AsyncClient, Client, InsertManyParams, RawArgs
from riverboat._bench import KIND, QUEUE
from riverboat._completion import Completion, set_state_params
from riverboat._insert import COPY_TYPES
from riverboat._queries import query
from riverboat._sync.admin import job_count_by_state
from riverboat.events import EventKind

BENCH = Path(__file__).resolve().parent
RIVERBOAT = Path(sys.executable).parent / "riverboat"
#: Jobs per COPY when filling the table for a burn-down (as `riverboat bench` does).
FILL_BATCH = 5_000
#: How long `riverboat work` may take to start, and a burn-down to finish.
WORK_TIMEOUT = 600.0
#: How often the work mode checks whether jobs are left.
POLL_INTERVAL = 0.005
#: The line each `riverboat work` process logs once its client has started.
STARTED = re.compile(r"riverboat client \S+ started: ")
#: An insert function: insert the jobs numbered first .. first + count - 1.
Insert = Callable[[int, int], Awaitable[object]]


def jobs_of(first: int, count: int) -> list[InsertManyParams]:
    return [InsertManyParams(RawArgs(KIND, {"n": n})) for n in range(first, first + count)]


def result(mode: str, jobs: int, phase: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"mode": mode, "jobs": jobs, **extra, **phase, "jobs_per_second": jobs / phase["seconds"]}


def fill_and_vacuum(url: str, jobs: int) -> None:
    with Client(url) as client:
        for first in range(0, jobs, FILL_BATCH):
            client.insert_many_fast(jobs_of(first, min(FILL_BATCH, jobs - first)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query("bench_vacuum_analyze", None))


def check_all_completed(url: str, jobs: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        by_state = job_count_by_state(conn, None, kinds=[KIND])
    counts = {state.value: count for state, count in by_state.items() if count}
    if counts != {"completed": jobs}:
        raise SystemExit(f"expected {jobs} completed jobs, found {counts}")


async def raw_limit(url: str, jobs: int, batch: int, connections: int) -> dict[str, Any]:
    fill_and_vacuum(url, jobs)
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(connections)]
    try:
        watch = Stopwatch()
        worked = sum(await asyncio.gather(*(_drain(conn, batch, f"raw-limit-{n}") for n, conn in enumerate(conns))))
        phase = watch.stop()
    finally:
        for conn in conns:
            await conn.close()
    if worked != jobs:
        raise SystemExit(f"raw-limit: worked {worked} of {jobs}")
    check_all_completed(url, jobs)
    return result("raw-limit", jobs, phase, batch=batch, connections=connections)


async def _drain(conn: psycopg.AsyncConnection[Any], batch: int, client_id: str) -> int:
    """Fetch and complete jobs on ``conn`` until none is left: one round trip per batch, the
    completion of the last batch pipelined with the fetch of the next (one implicit
    transaction, committed at the Sync). Returns the count."""
    fetch = query("job_get_available", None)
    complete = query("job_set_state_if_running_many", None)
    worked = 0
    done: list[int] = []
    async with conn.pipeline() as pipeline:
        while True:
            if done:
                now = datetime.now(UTC)
                completions = [
                    Completion(job_id, "completed", EventKind.COMPLETED, timedelta(0), finalized_at=now)
                    for job_id in done
                ]
                await conn.execute(complete, set_state_params(completions, read_rows=False))
            cur = await conn.execute(fetch, {"queue": QUEUE, "max_to_lock": batch, "client_id": client_id})
            # One Sync for both: they commit together, and without it every later round would join them.
            await pipeline.sync()
            done = [row[0] for row in await cur.fetchall()]
            if not done:
                return worked
            worked += len(done)


def work(url: str, jobs: int, processes: int) -> dict[str, Any]:
    fill_and_vacuum(url, jobs)
    with Client(url) as client, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query("queue_create_or_set_updated_at", None), {"name": QUEUE})
        client.queue_pause(QUEUE)
        command = [str(RIVERBOAT), "work", "--processes", str(processes), "work_target:make"]
        env = {**os.environ, "PYTHONPATH": str(BENCH), "RIVERBOAT_BENCH_URL": url}
        proc = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        lines: list[str] = []
        reader = threading.Thread(target=_collect, args=(proc, lines), daemon=True)
        reader.start()
        try:
            _wait(lambda: sum(bool(STARTED.search(line)) for line in list(lines)) >= processes, proc, lines)
            watch = Stopwatch(cpu=lambda: tree_cpu_seconds(proc.pid))
            client.queue_resume(QUEUE)
            unfinished = query("bench_job_unfinished_exists", None)
            _wait(lambda: not conn.execute(unfinished, {"queue": QUEUE}).fetchone()[0], proc, lines)  # type: ignore[index]
            phase = watch.stop()
        finally:
            proc.send_signal(signal.SIGTERM)
            status = proc.wait(timeout=120)
            reader.join()
    if status != 0:
        raise SystemExit(f"riverboat work exited with status {status}:\n{''.join(lines)[-4000:]}")
    check_all_completed(url, jobs)
    return result("work", jobs, phase, processes=processes)


def _collect(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)


def _wait(condition: Callable[[], bool], proc: subprocess.Popen[str], lines: list[str]) -> None:
    deadline = time.monotonic() + WORK_TIMEOUT
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"riverboat work stopped or stalled:\n{''.join(lines)[-4000:]}")
        time.sleep(POLL_INTERVAL)


async def timed_inserts(mode: str, jobs: int, batch: int, insert: Insert) -> dict[str, Any]:
    await insert(0, 1)
    watch = Stopwatch()
    for first in range(1, jobs + 1, batch):
        await insert(first, min(batch, jobs + 1 - first))
    return result(mode, jobs, watch.stop(), batch=batch)


@asynccontextmanager
async def client_insert(url: str, mode: str) -> AsyncIterator[Insert]:
    async with AsyncClient(url) as client:

        async def one_at_a_time(first: int, count: int) -> None:
            for item in jobs_of(first, count):
                await client.insert(item.args, item.opts)

        async def many(first: int, count: int) -> None:
            await client.insert_many(jobs_of(first, count))

        async def many_fast(first: int, count: int) -> None:
            await client.insert_many_fast(jobs_of(first, count))

        yield {"insert-one": one_at_a_time, "insert-many": many, "insert-many-fast": many_fast}[mode]


@asynccontextmanager
async def raw_copy(url: str, _mode: str) -> AsyncIterator[Insert]:
    statement = query("job_insert_copy", None)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:

        async def copy_rows(first: int, count: int) -> None:
            now = datetime.now(UTC)
            async with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                copy.set_types(COPY_TYPES)
                for n in range(first, first + count):
                    await copy.write_row((f'{{"n":{n}}}', now, KIND, 25, "{}", 1, QUEUE, now, "available", []))

        yield copy_rows


async def inserts(url: str, mode: str, jobs: int, batch: int) -> dict[str, Any]:
    inserter = raw_copy if mode == "raw-copy" else client_insert
    async with inserter(url, mode) as insert:
        return await timed_inserts(mode, jobs, 1 if mode == "insert-one" else batch, insert)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "mode", choices=["raw-limit", "work", "raw-copy", "insert-one", "insert-many", "insert-many-fast"]
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=None, help="default: 5000 for insert-one, 600000 for the other "
                        "inserts, 200000 for burn-downs")  # fmt: skip
    parser.add_argument("--batch", type=int, default=None, help="default: 100 for raw-limit, else 1000")
    parser.add_argument("--connections", type=int, default=4, help="raw-limit: connections side by side")
    parser.add_argument("--processes", type=int, default=1, help="work: riverboat work --processes")
    options = parser.parse_args()
    url, mode = options.database_url, options.mode
    burndown = mode in ("raw-limit", "work")
    jobs = options.jobs or (200_000 if burndown else 5_000 if mode == "insert-one" else 600_000)
    batch = options.batch or (100 if mode == "raw-limit" else 1_000)
    measured: dict[str, Any]
    if mode == "raw-limit":
        measured = asyncio.run(raw_limit(url, jobs, batch, options.connections))
    elif mode == "work":
        measured = work(url, jobs, options.processes)
    else:
        measured = asyncio.run(inserts(url, mode, jobs, batch))
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
