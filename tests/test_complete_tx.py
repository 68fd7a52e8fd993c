"""A worker completes its job in its own transaction (spec/07-complete.md#complete-tx), reaches
the client running it, and River Go's jobs are completed that way too."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat import (
    AsyncClient,
    Client,
    EventKind,
    InsertOpts,
    JobNotRunningError,
    QueueConfig,
    RawArgs,
    RiverboatError,
    Worker,
    Workers,
    WorkJob,
    current_client,
    current_sync_client,
)
from tests.helpers import await_until, go_binary
from tests.worker_support import job_row, states

FAST = {
    "default": QueueConfig(
        max_workers=5, fetch_cooldown=timedelta(milliseconds=20), fetch_poll_interval=timedelta(milliseconds=50)
    )
}


@asynccontextmanager
async def working(db_url: str, *workers: Worker[Any]) -> AsyncIterator[AsyncClient]:
    client = AsyncClient(db_url, queues=FAST, workers=Workers(*workers), leader_election=False)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def _until(conn: psycopg.Connection[Any], job_id: int, state: str) -> None:
    async def reached() -> bool:
        return states(conn, [job_id]) == [state]

    await await_until(reached, what=f"job {job_id} to be {state}")


class CompletesInTx(Worker[Any]):
    """Writes a row and completes the job in one transaction; then commits, rolls back or raises."""

    kind = "completes_in_tx"

    async def work(self, job: WorkJob[Any]) -> None:
        client = current_client()
        mode = job.args["mode"]
        async with await psycopg.AsyncConnection.connect(job.args["url"]) as conn:
            await conn.execute("INSERT INTO effects (job_id) VALUES (%s)", (job.id,))
            done = await client.complete_tx(conn, job)
            assert done.state.value == "completed"
            await client.insert_tx(conn, RawArgs("follow_up", {"after": job.id}), InsertOpts(queue="later"))
            if mode == "rollback":
                await conn.rollback()
                raise RuntimeError("rolled back, so this error is the outcome")
            await conn.commit()
        if mode == "raise_after_commit":
            raise RuntimeError("raised after the completion committed")


@pytest.fixture
def effects(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    conn.execute("CREATE TABLE effects (job_id bigint)")
    return conn


@pytest.mark.parametrize("mode", ["commit", "raise_after_commit", "rollback"])
async def test_complete_tx_commits_with_the_works_writes(
    db_url: str, effects: psycopg.Connection[Any], mode: str
) -> None:
    events: list[EventKind] = []
    async with working(db_url, CompletesInTx()) as client:
        client.events.subscribe(lambda event: events.append(event.kind))
        job = (await client.insert(RawArgs("completes_in_tx", {"mode": mode, "url": db_url}))).job
        if mode == "rollback":

            async def failed() -> bool:
                return bool(job_row(effects, job.id)["errors"])

            await await_until(failed, what="the attempt to fail")
        else:
            await _until(effects, job.id, "completed")

            async def reported() -> bool:
                return EventKind.COMPLETED in events

            await await_until(reported, what="the completed event")
    row = job_row(effects, job.id)
    count = effects.execute("SELECT count(*) FROM effects WHERE job_id = %s", (job.id,)).fetchone()
    follow_ups = effects.execute("SELECT count(*) FROM river_job WHERE kind = 'follow_up'").fetchone()
    if mode == "rollback":
        assert row["errors"][0]["error"] == "RuntimeError: rolled back, so this error is the outcome"
        assert (count, follow_ups) == ((0,), (0,))
    else:
        assert row["errors"] is None
        assert (count, follow_ups) == ((1,), (1,))
        assert events == [EventKind.COMPLETED]


class CompletesCancelled(Worker[Any]):
    kind = "completes_cancelled"

    async def work(self, job: WorkJob[Any]) -> None:
        async with await psycopg.AsyncConnection.connect(job.args["url"], autocommit=True) as conn:
            await conn.execute(
                "UPDATE river_job SET state = 'cancelled', finalized_at = now() WHERE id = %s", (job.id,)
            )
            async with conn.transaction():
                with pytest.raises(JobNotRunningError, match="cancelled, not running"):
                    await current_client().complete_tx(conn, job)
        raise RuntimeError("checked")


async def test_complete_tx_of_a_job_no_longer_running_is_a_clear_error(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with working(db_url, CompletesCancelled()) as client:
        job = (await client.insert(RawArgs("completes_cancelled", {"url": db_url}))).job

        async def settled() -> bool:
            return states(conn, [job.id]) == ["cancelled"] and job_row(conn, job.id)["metadata"] == {}

        await await_until(settled, what="the job to stay cancelled")
    assert job_row(conn, job.id)["errors"] is None


async def test_complete_tx_and_current_client_outside_a_worker_are_clear_errors(db_url: str) -> None:
    async with AsyncClient(db_url) as client, await psycopg.AsyncConnection.connect(db_url) as conn:
        job = (await client.insert(RawArgs("k", {}))).job
        with pytest.raises(RiverboatError, match="no job is being worked here"):
            await client.complete_tx(conn, job)
    with pytest.raises(RiverboatError, match="no job is being worked here"):
        current_client()


class SyncFollowUp(Worker[Any]):
    kind = "sync_follow_up"

    def work(self, job: WorkJob[Any]) -> None:
        client = current_sync_client()
        assert isinstance(client, Client)
        with pytest.raises(RiverboatError, match="current_client\\(\\) is for async def workers"):
            current_client()
        with psycopg.connect(job.args["url"]) as conn:
            client.insert_tx(conn, RawArgs("follow_up", {"after": job.id}), InsertOpts(queue="later"))
            client.complete_tx(conn, job)


async def test_a_def_worker_gets_a_sync_client(db_url: str, conn: psycopg.Connection[Any]) -> None:
    async with working(db_url, SyncFollowUp()) as client:
        job = (await client.insert(RawArgs("sync_follow_up", {"url": db_url}))).job
        await _until(conn, job.id, "completed")
    row = conn.execute("SELECT args FROM river_job WHERE kind = 'follow_up'").fetchone()
    assert row == ({"after": job.id},)


def test_the_sync_client_run_gives_def_workers_itself(db_url: str, conn: psycopg.Connection[Any]) -> None:
    seen: list[Client] = []

    class Records(Worker[Any]):
        kind = "records_client"

        def work(self, job: WorkJob[Any]) -> None:
            seen.append(current_sync_client())

    client = Client(db_url, queues=FAST, workers=Workers(Records()), leader_election=False)
    job = client.insert(RawArgs("records_client", {})).job
    runner = threading.Thread(target=client.run, kwargs={"handle_signals": False})
    runner.start()
    try:
        asyncio.run(_until(conn, job.id, "completed"))
    finally:
        client.stop()
        runner.join(30)
    assert seen == [client]


@pytest.mark.go
@pytest.mark.parametrize("mode", ["commit", "rollback"])
async def test_a_river_go_job_is_completed_in_a_python_transaction(
    db_url: str, effects: psycopg.Connection[Any], mode: str
) -> None:
    line = json.dumps({"kind": "completes_in_tx", "args": {"mode": mode, "url": db_url}, "queue": "default"})
    inserted = subprocess.run(
        [str(go_binary("riverinsert")), "-database-url", db_url], input=line, capture_output=True, text=True, check=True
    )
    job_id = json.loads(inserted.stdout.splitlines()[0])["id"]
    async with working(db_url, CompletesInTx()):
        if mode == "commit":
            await _until(effects, job_id, "completed")
        else:

            async def failed() -> bool:
                return bool(job_row(effects, job_id)["errors"])

            await await_until(failed, what="the attempt to fail")
    count = effects.execute("SELECT count(*) FROM effects WHERE job_id = %s", (job_id,)).fetchone()
    assert count == ((1,) if mode == "commit" else (0,))
