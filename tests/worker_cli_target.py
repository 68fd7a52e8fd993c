"""A module for the ``riverboat work`` test: a factory building a runtime from $RIVERBOAT_TEST_URL."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riverboat._runtime import Runtime
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob


class Sleeper(Worker[Any]):
    kind = "sleeper"
    timeout = timedelta(hours=1)

    async def work(self, job: WorkJob[Any]) -> None:
        await asyncio.sleep(job.args["seconds"])


class _Owned(Runtime):
    async def stop(self) -> None:
        await super().stop()
        await self.pool.close()


async def make() -> Runtime:
    url = os.environ["RIVERBOAT_TEST_URL"]
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    return _Owned(
        pool=pool,
        listener_conninfo=url,
        workers=Workers(Sleeper()),
        queues={"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))},
    )
