"""Workers written as plain functions (River's WorkFunc): ``@workers.register(ArgsType, ...)``
on an ``async def`` (run on the event loop) or a ``def`` (run in a thread), with the options
a Worker class has (timeout, next_retry, contract). A worker reports progress with
``record_output`` and makes it visible at once with ``job_update`` on the client working it.

    riverboat migrate up --database-url "$DATABASE_URL"     # River's schema, once
    DATABASE_URL=postgresql://localhost/app python examples/function_workers.py
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from riverboat import AsyncClient, JobState, QueueConfig, Workers, WorkJob, current_sync_client, record_output


@dataclass
class SendEmail:
    kind: ClassVar[str] = "example_send_email"
    to: str


@dataclass
class Checksum:
    kind: ClassVar[str] = "example_checksum"
    text: str
    rounds: int


workers = Workers()


@workers.register(SendEmail, timeout=timedelta(seconds=10))
async def send_email(job: WorkJob[SendEmail]) -> None:
    print(f"sending an email to {job.args.to}")


@workers.register(Checksum)
def checksum(job: WorkJob[Checksum]) -> None:
    """CPU work in a plain function: it runs in a worker thread."""
    digest = job.args.text.encode()
    for done in range(1, job.args.rounds + 1):
        digest = hashlib.sha256(digest).digest()
        if done == job.args.rounds // 2:
            # Progress others can read now, not only when the job ends.
            record_output({"rounds_done": done})
            # The client working the job, as a plain Client for this thread.
            current_sync_client().job_update(job.id)
    record_output({"rounds_done": job.args.rounds, "sha256": digest.hex()[:16]})


async def main() -> None:
    queues = {"default": QueueConfig(max_workers=4, fetch_poll_interval=timedelta(milliseconds=100))}
    async with AsyncClient(os.environ["DATABASE_URL"], queues=queues, workers=workers) as client:
        ids = [r.job.id for r in await client.insert_many([SendEmail("ada@example.com"), Checksum("riverboat", 1000)])]
        await client.start()
        async with asyncio.timeout(60):
            while [(await client.job_get(i)).state for i in ids] != [JobState.COMPLETED] * len(ids):
                await asyncio.sleep(0.05)
        await client.stop()
        for job_id in ids:
            job = await client.job_get(job_id)
            print(f"{job.kind}: {job.state.value}, output {job.metadata.get('output')}")


if __name__ == "__main__":
    asyncio.run(main())
