"""Burn-down of PGQueuer (run by bench/compare with bench/.venv's Python). Not a test.

Installs PGQueuer's schema in an empty database, enqueues N no-op jobs in one call, then
times ``consumers`` queue managers (one asyncpg connection each, as PGQueuer's performance
guide and its own benchmark tool do) draining them with ``batch_size``, on uvloop like
``pgq run``. Prints one JSON object (with the timed phase's figures of ``cputime.Stopwatch``:
bench/compare puts bench/ on PYTHONPATH).

    python bench/peers/pgqueuer_burndown.py --database-url URL [--jobs 200000] [--batch-size 100] [--consumers 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource

import asyncpg
import uvloop
from cputime import Stopwatch
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode


async def burndown(url: str, jobs: int, batch_size: int, consumers: int) -> dict[str, object]:
    setup = await asyncpg.connect(url)
    queries = Queries(AsyncpgDriver(setup))
    await queries.install()
    await queries.enqueue(["bench"] * jobs, [b"{}"] * jobs, [0] * jobs)
    await setup.execute("VACUUM ANALYZE")
    worked = 0
    managers = []
    for _ in range(consumers):
        pgq = PgQueuer(AsyncpgDriver(await asyncpg.connect(url)))

        @pgq.entrypoint("bench")
        async def noop(job: Job) -> None:
            nonlocal worked
            worked += 1

        managers.append(pgq)
    watch = Stopwatch()
    await asyncio.gather(*(pgq.run(batch_size=batch_size, mode=QueueExecutionMode.drain) for pgq in managers))
    phase = watch.stop()
    left = sum(s.count for s in await queries.queue_size())
    if worked != jobs or left:
        raise SystemExit(f"pgqueuer: worked {worked} of {jobs}, {left} left in the queue")
    return {
        "mode": "burndown",
        "jobs": jobs,
        **phase,
        "jobs_per_second": jobs / phase["seconds"],
        "batch_size": batch_size,
        "consumers": consumers,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--consumers", type=int, default=5)
    options = parser.parse_args()
    result = uvloop.run(burndown(options.database_url, options.jobs, options.batch_size, options.consumers))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
