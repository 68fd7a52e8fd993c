"""The client `bench/measure.py work` runs with `riverboat work`: one queue with `riverboat
bench`'s burn-down settings (max_workers, fetch cooldown and poll interval) and an `async def`
no-op worker, on $RIVERBOAT_BENCH_URL, with everything else the client's defaults (its own
pool, leader election and maintenance). Not a test."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob
from riverboat._bench import KIND, QUEUE
from riverboat.cli._bench import MODE_DEFAULTS


class Noop(Worker[Any]):
    kind = KIND

    async def work(self, job: WorkJob[Any]) -> None:
        pass


def make() -> AsyncClient:
    max_workers, cooldown_ms, poll_ms = MODE_DEFAULTS["burndown"]
    queue = QueueConfig(
        max_workers=max_workers,
        fetch_cooldown=timedelta(milliseconds=cooldown_ms),
        fetch_poll_interval=timedelta(milliseconds=poll_ms),
    )
    return AsyncClient(os.environ["RIVERBOAT_BENCH_URL"], queues={QUEUE: queue}, workers=Workers(Noop()))
