"""Burn-down of Procrastinate (run by bench/compare with bench/.venv's Python). Not a test.

Applies Procrastinate's schema to an empty database, defers N no-op jobs in one batch, then
times one worker with ``concurrency`` async jobs at once (Procrastinate's setting for
throughput of async tasks) until it has caught up (``wait=False``). Prints one JSON object
(with the timed phase's figures of ``cputime.Stopwatch``: bench/compare puts bench/ on
PYTHONPATH).

    python bench/peers/procrastinate_burndown.py --database-url URL [--jobs 10000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource

import procrastinate
import psycopg
from cputime import Stopwatch


async def burndown(url: str, jobs: int, concurrency: int) -> dict[str, object]:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
    worked = 0

    @app.task(name="bench")
    async def noop(n: int) -> None:
        nonlocal worked
        worked += 1

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        await noop.batch_defer_async(*({"n": n} for n in range(jobs)))
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("VACUUM ANALYZE")
        watch = Stopwatch()
        await app.run_worker_async(concurrency=concurrency, wait=False, install_signal_handlers=False)
        phase = watch.stop()
    if worked != jobs:
        raise SystemExit(f"procrastinate: worked {worked} of {jobs}")
    return {
        "mode": "burndown",
        "jobs": jobs,
        **phase,
        "jobs_per_second": jobs / phase["seconds"],
        "concurrency": concurrency,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(burndown(options.database_url, options.jobs, options.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
