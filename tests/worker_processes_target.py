"""A module for the ``riverboat work --processes`` tests: a client from $RIVERBOAT_TEST_URL whose
``meet`` jobs record which process worked them in the table ``worked_by`` (the test creates it),
then wait until ``args.processes`` processes have each recorded a job of the same round, and,
with ``args.hold``, until the test inserts that round into ``released``. Each process works one
job at a time, so a round of N jobs meets only when N processes work side by side."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import psycopg

from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob
from tests.helpers import await_until

URL = os.environ.get("RIVERBOAT_TEST_URL", "")
#: How long a job waits for the others of its round, or for its release.
MEETING_TIMEOUT = 120.0


class Meet(Worker[Any]):
    kind = "meet"
    timeout = timedelta(minutes=10)

    async def work(self, job: WorkJob[Any]) -> None:
        round_ = job.args["round"]
        async with await psycopg.AsyncConnection.connect(URL, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO worked_by (round, job_id, pid, client_id) VALUES (%s, %s, %s, %s)",
                (round_, job.row.id, os.getpid(), job.row.attempted_by[-1]),
            )

            async def met() -> bool:
                cur = await conn.execute("SELECT count(DISTINCT pid) FROM worked_by WHERE round = %s", (round_,))
                row = await cur.fetchone()
                return row is not None and row[0] >= job.args["processes"]

            async def released() -> bool:
                cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM released WHERE round = %s)", (round_,))
                row = await cur.fetchone()
                return row is not None and bool(row[0])

            await await_until(met, timeout=MEETING_TIMEOUT, interval=0.02, what=f"round {round_} to meet")
            if job.args.get("hold"):
                await await_until(released, timeout=MEETING_TIMEOUT, interval=0.02, what=f"round {round_} released")


def make() -> AsyncClient:
    return AsyncClient(
        URL,
        workers=Workers(Meet()),
        queues={"default": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))},
    )
