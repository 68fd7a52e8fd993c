"""job_update inside ``work`` (the output recorded so far) and an update read back by River Go
v0.51.2's JobGet (spec/12-queues-and-admin.md#job-update). Async only: a running worker and a
River Go process; the client's job_update itself is in test_job_update_async.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import timedelta
from typing import Any

from riverboat import AsyncClient, JobState, QueueConfig, RawArgs, Workers, WorkJob, record_output
from tests.helpers import await_until, go_binary

QUEUES = {"default": QueueConfig(max_workers=2, fetch_poll_interval=timedelta(milliseconds=100))}


async def test_job_update_inside_work_writes_the_output_recorded_so_far(db_url: str) -> None:
    release = asyncio.Event()
    workers = Workers()
    holder: dict[str, AsyncClient] = {}
    updated_inside: list[Any] = []

    @workers.register("progress")
    async def report_progress(job: WorkJob[dict[str, Any]]) -> None:
        client = holder["client"]
        record_output({"done": 50})
        updated_inside.append((await client.job_update(job.id)).metadata)
        # Another job's output is not this job's to write.
        other = job.args["other"]
        updated_inside.append((await client.job_update(other)).metadata)
        await release.wait()
        record_output({"done": 100})

    async with AsyncClient(db_url, queues=QUEUES, workers=workers) as client:
        holder["client"] = client
        other = (await client.insert(RawArgs("unworked", {}))).job.id
        job_id = (await client.insert(RawArgs("progress", {"other": other}))).job.id
        await client.start()
        try:
            await await_until(lambda: _updated(updated_inside), timeout=60, what="job_update inside work")
            running = await client.job_get(job_id)
            assert (running.state, running.metadata) == (JobState.RUNNING, {"output": {"done": 50}})
            assert updated_inside == [{"output": {"done": 50}}, {}]
            release.set()
            done = await await_until(lambda: _completed(client, job_id), timeout=60, what="job completed")
        finally:
            release.set()
            await client.stop()
    assert done.metadata == {"output": {"done": 100}}


async def _updated(seen: list[Any]) -> bool:
    return len(seen) == 2


async def _completed(client: AsyncClient, job_id: int) -> Any:
    job = await client.job_get(job_id)
    return job if job.state == JobState.COMPLETED else None


async def test_job_update_is_seen_by_river_go_job_get(db_url: str) -> None:
    output = {"rows": 42, "file": "<r&d>.csv", "ratio": 0.1}
    async with AsyncClient(db_url) as client:
        job_id = (await client.insert(RawArgs("report", {"n": 1}))).job.id
        await client.job_update(job_id, output=output)
    done = subprocess.run(
        [str(go_binary("riverresumable")), "-database-url", db_url, "-get", str(job_id)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen == {"metadata": {"output": output}, "output": output}
