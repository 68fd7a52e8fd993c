"""job_update and job_update_tx (River's JobUpdate; spec/12-queues-and-admin.md#job-update):
a job's output set from outside, from inside ``work`` (the output recorded so far), in the
caller's transaction, and read back by River Go v0.51.2's JobGet."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat import (
    AsyncClient,
    JobNotFoundError,
    JobState,
    QueueConfig,
    RawArgs,
    ValidationError,
    Workers,
    WorkJob,
    record_output,
)
from riverboat._defaults import OUTPUT_MAX_BYTES
from tests.helpers import await_until, go_binary

QUEUES = {"default": QueueConfig(max_workers=2, fetch_poll_interval=timedelta(milliseconds=100))}


async def test_job_update_sets_the_output_and_keeps_other_metadata(db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        job = (await client.insert(RawArgs("report", {"n": 1}))).job
        await client.job_update(job.id, output={"old": True})
        updated = await client.job_update(job.id, output=[1, "two", {"three": 3.5}])
        assert updated.metadata == {"output": [1, "two", {"three": 3.5}]}
        assert (await client.job_get(job.id)).metadata == updated.metadata
        assert updated.state == JobState.AVAILABLE


async def test_job_update_without_output_outside_work_changes_nothing(db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        job = (await client.insert(RawArgs("report", {"n": 1}))).job
        same = await client.job_update(job.id)
        assert same == await client.job_get(job.id)
        assert same.metadata == {}


async def test_job_update_errors_name_the_rule(db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        job = (await client.insert(RawArgs("report", {"n": 1}))).job
        with pytest.raises(JobNotFoundError):
            await client.job_update(999_999, output=1)
        with pytest.raises(ValidationError, match="id") as bad_id:
            await client.job_update(0, output=1)
        assert bad_id.value.rule == "range"
        for unencodable in (object(), float("nan"), {1: "non-string key"}):
            with pytest.raises(ValidationError) as bad:
                await client.job_update(job.id, output=unencodable)
            assert (bad.value.field, bad.value.rule) in {("output", "json"), ("output", "type")}
        with pytest.raises(ValidationError) as too_big:
            await client.job_update(job.id, output="x" * OUTPUT_MAX_BYTES)
        assert (too_big.value.field, too_big.value.rule) == ("output", "length")
        assert (await client.job_get(job.id)).metadata == {}


async def test_job_update_tx_follows_the_callers_transaction(db_url: str) -> None:
    async with AsyncClient(db_url) as client, await psycopg.AsyncConnection.connect(db_url) as conn:
        job = (await client.insert(RawArgs("report", {"n": 1}))).job
        async with conn.transaction(force_rollback=True):
            inside = await client.job_update_tx(conn, job.id, output="rolled back")
            assert inside.metadata == {"output": "rolled back"}
        assert (await client.job_get(job.id)).metadata == {}
        async with conn.transaction():
            await client.job_update_tx(conn, job.id, output="committed")
            assert (await client.job_get(job.id)).metadata == {}, "visible before commit"
        assert (await client.job_get(job.id)).metadata == {"output": "committed"}


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
