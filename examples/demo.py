"""riverboat's main demo: a private PostgreSQL, River's schema, jobs enqueued three ways
(in an application transaction, as a unique job, and from plain SQL), worked by asyncio
and thread workers, then the resulting rows.

Run it with ``scripts/demo`` (which installs what it needs first).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import psycopg

from riverboat import (
    AsyncClient,
    InsertOpts,
    JobListParams,
    QueueConfig,
    UniqueOpts,
    Worker,
    Workers,
    WorkJob,
    record_output,
    set_metadata,
    snooze,
)
from riverboat.devdb import DevDatabase
from riverboat.migrate import Migrator, known_lines


@dataclass
class WelcomeEmail:
    kind: ClassVar[str] = "welcome_email"
    user_id: int
    address: str


@dataclass
class DailyReport:
    kind: ClassVar[str] = "daily_report"
    day: str


class WelcomeEmailWorker(Worker[WelcomeEmail]):
    """An asyncio worker: runs on the event loop."""

    kind: ClassVar[str] = "welcome_email"
    args_type = WelcomeEmail

    async def work(self, job: WorkJob[WelcomeEmail]) -> None:
        await asyncio.sleep(0.05)
        record_output({"sent_to": job.args.address})


class DailyReportWorker(Worker[DailyReport]):
    """A plain ``def`` worker: runs in a thread. Its first attempt snoozes, as a job
    waiting for data would."""

    kind: ClassVar[str] = "daily_report"
    args_type = DailyReport

    def work(self, job: WorkJob[DailyReport]) -> None:
        if not job.metadata.get("snoozed_once"):
            set_metadata("snoozed_once", True)
            snooze(timedelta(milliseconds=200))
        record_output({"rows": sum(range(10_000))})


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def migrate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        migrator = Migrator(conn)
        for line in known_lines():
            steps = migrator.up(line)
            say(f"migrated line {line!r}: versions applied: {[step.version for step in steps]}")


async def enqueue(client: AsyncClient, url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("CREATE TABLE app_user (id bigint PRIMARY KEY, address text NOT NULL)")
        await conn.commit()
        # The job exists if and only if the transaction that created the user commits.
        async with conn.transaction():
            await conn.execute("INSERT INTO app_user VALUES (1, 'ada@example.com')")
            await client.insert_tx(conn, WelcomeEmail(1, "ada@example.com"))
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO app_user VALUES (2, 'bob@example.com')")
                await client.insert_tx(conn, WelcomeEmail(2, "bob@example.com"))
                raise RuntimeError("the signup failed")
        except RuntimeError:
            say("rolled back bob's signup: no user, no job")
    once = InsertOpts(queue="reports", unique_opts=UniqueOpts(by_args=True))
    first = await client.insert(DailyReport("2026-11-28"), once)
    second = await client.insert(DailyReport("2026-11-28"), once)
    say(f"unique report job {first.job.id}; second insert skipped as duplicate: {second.unique_skipped_as_duplicate}")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT (r.job).id FROM riverboat_job_insert_v1('welcome_email', %s, '{\"priority\": 2}') AS r",
            ('{"user_id":3,"address":"sql@example.com"}',),
        )
        row = await cur.fetchone()
        say(f"enqueued job {row[0] if row else '?'} from plain SQL (riverboat_job_insert_v1)")


async def all_finalized(client: AsyncClient) -> bool:
    jobs = (await client.job_list(JobListParams())).jobs
    return bool(jobs) and all(job.finalized_at is not None for job in jobs)


async def work(url: str) -> list[Any]:
    client = AsyncClient(
        url,
        queues={
            "default": QueueConfig(max_workers=10),
            "reports": QueueConfig(max_workers=2, fetch_poll_interval=timedelta(milliseconds=100)),
        },
        workers=Workers(WelcomeEmailWorker(), DailyReportWorker()),
    )
    async with client:
        await enqueue(client, url)
        await client.start()
        say(f"worker {client.client_id} started")
        async with asyncio.timeout(60):
            while not await all_finalized(client):
                await asyncio.sleep(0.05)
        await client.stop()
        return (await client.job_list(JobListParams())).jobs


def show(jobs: list[Any]) -> None:
    print()
    print(f"{'id':>3}  {'kind':<14} {'queue':<8} {'state':<10} {'attempt':>7} {'snoozes':>7}  output")
    for job in jobs:
        output = job.metadata.get("output", "")
        snoozes = job.metadata.get("snoozes", 0)
        print(
            f"{job.id:>3}  {job.kind:<14} {job.queue:<8} {job.state.value:<10} {job.attempt:>7} {snoozes:>7}  {output}"
        )
    print()


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="riverboat-demo-"))
    data_dir.chmod(0o755)
    database = DevDatabase(data_dir)
    url = database.start()
    say(f"started a private PostgreSQL at {url}")
    try:
        migrate(url)
        jobs = asyncio.run(work(url))
        show(jobs)
        done = all(job.state.value == "completed" for job in jobs)
        say("every job completed" if done else "some jobs did not complete")
        return 0 if done else 1
    finally:
        database.destroy()
        say("stopped and removed the PostgreSQL cluster")


if __name__ == "__main__":
    sys.exit(main())
