"""A module for the ``riverboat work`` test: a factory building a client from $RIVERBOAT_TEST_URL."""

from __future__ import annotations

import asyncio
import gc
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from riverboat import AsyncClient, Client, QueueConfig, Worker, Workers, WorkJob, cancel, discard, record_output, snooze


class Sleeper(Worker[Any]):
    kind = "sleeper"
    timeout = timedelta(hours=1)

    async def work(self, job: WorkJob[Any]) -> None:
        record_output({"frozen_objects": gc.get_freeze_count()})
        await asyncio.sleep(job.args["seconds"])


class Outcome(Worker[Any]):
    """Ends each job the way its args say: ``{"outcome": "complete" | "fail" | "cancel" |
    "snooze" | "discard"}``; a failed job is retried only in an hour."""

    kind = "outcome"

    async def work(self, job: WorkJob[Any]) -> None:
        outcome = job.args["outcome"]
        if outcome == "fail":
            raise RuntimeError("failed on purpose")
        if outcome == "cancel":
            cancel("cancelled on purpose")
        if outcome == "snooze":
            snooze(timedelta(hours=1))
        if outcome == "discard":
            discard("discarded on purpose")

    def next_retry(self, job: WorkJob[Any]) -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)


class Gated(Worker[Any]):
    """Runs until the file its args name exists: a test creates it once it has seen the stop begin."""

    kind = "gated"
    timeout = timedelta(hours=1)

    async def work(self, job: WorkJob[Any]) -> None:
        release = Path(job.args["release"])
        while not release.exists():
            await asyncio.sleep(0.01)


def make() -> AsyncClient:
    return AsyncClient(
        os.environ["RIVERBOAT_TEST_URL"],
        workers=Workers(Sleeper(), Outcome(), Gated()),
        queues={"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))},
    )


def make_sync() -> Client:
    return Client(
        os.environ["RIVERBOAT_TEST_URL"],
        workers=Workers(Sleeper()),
        queues={"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))},
    )
