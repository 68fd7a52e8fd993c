"""One measurement of bench/compare that is neither `riverboat bench` nor a peer: the raw-SQL
limit of working, and the insert paths. Not a test. Prints one JSON object.

    python bench/measure.py raw-limit        --database-url URL [--jobs 20000] [--batch 100]
    python bench/measure.py raw-copy         --database-url URL [--jobs 20000] [--batch 1000]
    python bench/measure.py insert-one       --database-url URL [--jobs 2000]
    python bench/measure.py insert-many      --database-url URL [--jobs 20000] [--batch 1000]
    python bench/measure.py insert-many-fast --database-url URL [--jobs 20000] [--batch 1000]

raw-limit fills the table (COPY), then times riverboat's own fetch and batched-completion
statements alone in a tight loop, one connection, ``batch`` jobs at a time: what working
would cost with no worker around it. raw-copy times riverboat's COPY statement fed with
ready-made rows through the same COPY transport (column types set once), without riverboat's
validation and encoding. The insert-* modes time
``AsyncClient.insert`` (one job per call and transaction), ``insert_many`` and
``insert_many_fast`` (``batch`` jobs per call). The database must be migrated and empty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from riverboat import AsyncClient, InsertManyParams, RawArgs
from riverboat._completion import Completion, set_state_params
from riverboat._insert import COPY_TYPES
from riverboat._queries import query
from riverboat.events import EventKind

KIND = "bench"


def jobs_of(first: int, count: int) -> list[InsertManyParams]:
    return [InsertManyParams(RawArgs(KIND, {"n": n})) for n in range(first, first + count)]


def result(mode: str, jobs: int, batch: int, seconds: float) -> dict[str, Any]:
    return {"mode": mode, "jobs": jobs, "batch": batch, "seconds": seconds, "jobs_per_second": jobs / seconds}


async def raw_limit(url: str, jobs: int, batch: int) -> dict[str, Any]:
    async with AsyncClient(url) as client:
        for first in range(0, jobs, 5_000):
            await client.insert_many_fast(jobs_of(first, min(5_000, jobs - first)))
    fetch = query("job_get_available", None)
    complete = query("job_set_state_if_running_many", None)
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("bench_vacuum_analyze", None))
        worked = 0
        t0 = time.perf_counter()
        while True:
            cur.execute(fetch, {"queue": "default", "max_to_lock": batch, "client_id": "raw-limit"})
            rows = cur.fetchall()
            if not rows:
                break
            now = datetime.now(UTC)
            done = [
                Completion(
                    job_id=row["id"],
                    state="completed",
                    outcome=EventKind.COMPLETED,
                    duration=timedelta(0),
                    finalized_at=now,
                )
                for row in rows
            ]
            cur.execute(complete, set_state_params(done, read_rows=False))
            worked += len(rows)
        seconds = time.perf_counter() - t0
    if worked != jobs:
        raise SystemExit(f"raw-limit: worked {worked} of {jobs}")
    return result("raw-limit", jobs, batch, seconds)


async def raw_copy(url: str, jobs: int, batch: int) -> dict[str, Any]:
    statement = query("job_insert_copy", None)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        for first in range(0, jobs, batch):
            now = datetime.now(UTC)
            async with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                copy.set_types(COPY_TYPES)
                for n in range(first, min(first + batch, jobs)):
                    await copy.write_row((f'{{"n":{n}}}', now, KIND, 25, "{}", 1, "default", now, "available", []))
        seconds = time.perf_counter() - t0
    return result("raw-copy", jobs, batch, seconds)


async def timed_inserts(
    url: str, mode: str, jobs: int, batch: int, insert: Callable[[AsyncClient, list[InsertManyParams]], Awaitable[Any]]
) -> dict[str, Any]:
    async with AsyncClient(url) as client:
        await insert(client, jobs_of(0, 1))  # opens the pool outside the timing
        t0 = time.perf_counter()
        for first in range(1, jobs + 1, batch):
            await insert(client, jobs_of(first, min(batch, jobs + 1 - first)))
        seconds = time.perf_counter() - t0
    return result(mode, jobs, batch, seconds)


async def insert_one(client: AsyncClient, items: list[InsertManyParams]) -> None:
    for item in items:
        await client.insert(item.args, item.opts)


async def insert_many(client: AsyncClient, items: list[InsertManyParams]) -> None:
    await client.insert_many(items)


async def insert_many_fast(client: AsyncClient, items: list[InsertManyParams]) -> None:
    await client.insert_many_fast(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["raw-limit", "raw-copy", "insert-one", "insert-many", "insert-many-fast"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=None, help="default: 100 for raw-limit, else 1000")
    options = parser.parse_args()
    url, jobs, mode = options.database_url, options.jobs, options.mode
    batch = options.batch or (100 if mode == "raw-limit" else 1_000)
    measured: dict[str, Any]
    if mode == "raw-limit":
        measured = asyncio.run(raw_limit(url, jobs, batch))
    elif mode == "raw-copy":
        measured = asyncio.run(raw_copy(url, jobs, batch))
    elif mode == "insert-one":
        measured = asyncio.run(timed_inserts(url, mode, jobs, 1, insert_one))
    elif mode == "insert-many":
        measured = asyncio.run(timed_inserts(url, mode, jobs, batch, insert_many))
    else:
        measured = asyncio.run(timed_inserts(url, mode, jobs, batch, insert_many_fast))
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
