"""A resumable job (River's steps and cursors): an import that downloads a file, loads its
rows and then reports. Its first attempt fails part way through the rows; the retry skips
the download and goes on from the last row loaded. The progress lives in the job's metadata
where River Go keeps it, so a Go worker could have taken over just as well.

    riverboat migrate up --database-url "$DATABASE_URL"     # River's schema, once
    DATABASE_URL=postgresql://localhost/app python examples/resumable_job.py
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import riverboat
from riverboat import AsyncClient, JobState, QueueConfig, Workers, WorkJob


@dataclass
class ImportFile:
    kind: ClassVar[str] = "example_import_file"
    name: str
    rows: int


@dataclass
class LoadCursor:
    """How far the load got: a dataclass cursor is stored as a JSON object."""

    next_row: int


workers = Workers()


# A failed attempt runs again at once, to keep the example short.
@workers.register(ImportFile, next_retry=lambda job: datetime.now(UTC))
async def import_file(job: WorkJob[ImportFile]) -> None:
    attempt = job.attempt
    async with riverboat.resumable() as steps:

        async def download() -> None:
            print(f"attempt {attempt}: downloading {job.args.name}")

        async def load(cursor: dict[str, int] | None) -> None:
            start = 0 if cursor is None else cursor["next_row"]
            print(f"attempt {attempt}: loading from row {start}")
            for row in range(start, job.args.rows):
                if attempt == 1 and row == 3:
                    raise RuntimeError("the database went away at row 3")
                steps.set_cursor(LoadCursor(next_row=row + 1))

        async def report() -> None:
            print(f"attempt {attempt}: {job.args.rows} rows imported")

        await steps.step("download", download)
        await steps.step_cursor("load", load)
        await steps.step("report", report)


async def main() -> None:
    url = os.environ["DATABASE_URL"]
    queues = {"default": QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))}
    async with AsyncClient(url, queues=queues, workers=workers) as client:
        job = (await client.insert(ImportFile("customers.csv", rows=5))).job
        await client.start()
        async with asyncio.timeout(60):
            while (job := await client.job_get(job.id)).state != JobState.COMPLETED:
                await asyncio.sleep(0.05)
        await client.stop()
    print(f"job {job.id} {job.state.value} after {job.attempt} attempts; metadata {job.metadata}")


if __name__ == "__main__":
    asyncio.run(main())
