"""Worker phase: riverboat's reference worker runs the jobs a case left behind (README.md#worker-phase)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riverboat import AsyncClient
from riverboat.worker import QueueConfig, Worker, Workers

WORK_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
# Short polling so jobs whose notification was debounced away are still fetched quickly.
QUEUE_CONFIG = QueueConfig(fetch_cooldown=timedelta(milliseconds=10), fetch_poll_interval=timedelta(milliseconds=200))


class _Succeed(Worker[Any]):
    """Completes any job at once; the phase checks state and args, not what the handler did."""

    async def work(self, job: Any) -> None:
        return None


def _workers(kinds: set[str]) -> Workers:
    return Workers(*(type(f"Succeed[{kind}]", (_Succeed,), {"kind": kind})() for kind in sorted(kinds)))


def work_all(url: str, schema: str | None, kinds: set[str], queues: set[str], done: Callable[[], bool]) -> None:
    """Run riverboat's worker runtime on every kind and queue until ``done()`` holds or a minute passes."""

    async def main() -> None:
        async with AsyncConnectionPool(url, min_size=1, max_size=4, open=False) as pool:
            runtime = AsyncClient(
                pool,
                schema=schema,
                queues=dict.fromkeys(sorted(queues), QUEUE_CONFIG),
                workers=_workers(kinds),
                leader_election=False,
            )
            await runtime.start()
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + WORK_TIMEOUT_SECONDS
                # At the deadline the phase just ends; the caller reports the states the jobs are in.
                while not await asyncio.to_thread(done) and loop.time() < deadline:
                    await asyncio.sleep(POLL_SECONDS)
            finally:
                await runtime.stop()

    asyncio.run(main())
