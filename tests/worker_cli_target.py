"""A module for the ``riverboat work`` test: a factory building a client from $RIVERBOAT_TEST_URL."""

from __future__ import annotations

import asyncio
import gc
import os
from datetime import timedelta
from typing import Any

from riverboat import AsyncClient, Client, QueueConfig, Worker, Workers, WorkJob, record_output


class Sleeper(Worker[Any]):
    kind = "sleeper"
    timeout = timedelta(hours=1)

    async def work(self, job: WorkJob[Any]) -> None:
        record_output({"frozen_objects": gc.get_freeze_count()})
        await asyncio.sleep(job.args["seconds"])


def make() -> AsyncClient:
    return AsyncClient(
        os.environ["RIVERBOAT_TEST_URL"],
        workers=Workers(Sleeper()),
        queues={"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))},
    )


def make_sync() -> Client:
    return Client(
        os.environ["RIVERBOAT_TEST_URL"],
        workers=Workers(Sleeper()),
        queues={"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))},
    )
