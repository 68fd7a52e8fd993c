"""The public clients as workers: AsyncClient start/stop, the blocking sync Client.run,
leader election and maintenance wired in, periodic jobs, and the checks made when a
client is created. The clients' insert and admin methods are in test_client_async.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat import (
    AsyncClient,
    Client,
    Contract,
    Event,
    EventKind,
    InsertOpts,
    JobListParams,
    PeriodicJob,
    QueueConfig,
    ValidationError,
    Worker,
    Workers,
    WorkJob,
)
from riverboat._leader import Elector, ElectorConfig
from riverboat._service import START_STAGGER_MAX, connect_each_time
from tests.helpers import await_until, wait_until
from tests.maintenance_support import leader_bids, record_leader_bids
from tests.worker_support import insert_jobs, states

FAST_QUEUE = {"default": QueueConfig(max_workers=5, fetch_poll_interval=timedelta(milliseconds=100))}


@dataclass
class Greet:
    kind = "greet"
    name: str


class AsyncGreeter(Worker[Greet]):
    kind = "greet"
    args_type = Greet

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def work(self, job: WorkJob[Greet]) -> None:
        self.seen.append(job.args.name)


class ThreadGreeter(Worker[Greet]):
    kind = "greet"
    args_type = Greet

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.threads: set[str] = set()

    def work(self, job: WorkJob[Greet]) -> None:
        self.threads.add(threading.current_thread().name)
        self.seen.append(job.args.name)


async def test_async_client_works_what_it_inserts(db_url: str) -> None:
    greeter = AsyncGreeter()
    events: list[Event] = []
    async with AsyncClient(db_url, queues=FAST_QUEUE, workers=Workers(greeter)) as client:
        client.events.subscribe(events.append)
        await client.start()
        results = await client.insert_many([Greet("ada"), Greet("grace")])
        await await_until(lambda: _all_completed(client, [r.job.id for r in results]), what="jobs completed")
        await client.stop()
    assert sorted(greeter.seen) == ["ada", "grace"]
    assert {e.kind for e in events} == {EventKind.COMPLETED}


async def _all_completed(client: AsyncClient, ids: list[int]) -> bool:
    return [(await client.job_get(job_id)).state.value for job_id in ids] == ["completed"] * len(ids)


def test_sync_client_run_blocks_until_stopped(conn: psycopg.Connection[Any], db_url: str) -> None:
    greeter = ThreadGreeter()
    client = Client(db_url, queues=FAST_QUEUE, workers=Workers(greeter))
    ids = [client.insert(Greet(name)).job.id for name in ("a", "b", "c")]
    runner = threading.Thread(target=client.run)
    runner.start()
    wait_until(lambda: states(conn, ids) == ["completed"] * 3, what="jobs completed")
    client.stop()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert sorted(greeter.seen) == ["a", "b", "c"]
    assert threading.main_thread().name not in greeter.threads
    client.close()


async def test_leader_runs_periodic_jobs_and_resigns_on_stop(db_url: str) -> None:
    periodic = PeriodicJob(
        timedelta(hours=1),
        lambda: (Greet("tick"), InsertOpts(queue="default")),
        run_on_start=True,
        id="hourly-greet",
    )
    greeter = AsyncGreeter()
    async with AsyncClient(
        db_url, queues=FAST_QUEUE, workers=Workers(greeter), periodic_jobs=[periodic], client_id="py-leader"
    ) as client:
        await client.start()
        await await_until(lambda: _leader_is(client, "py-leader"), what="elected")
        assert client.is_leader
        jobs = await await_until(lambda: _periodic_jobs(client), what="periodic job inserted")
        assert jobs[0].metadata == {"periodic": True, "river:periodic_job_id": "hourly-greet"}
        await await_until(lambda: _has_seen(greeter, "tick"), what="periodic job worked")
        await client.stop()
        assert await client.leader_get() is None


async def _leader_is(client: AsyncClient, leader_id: str) -> bool:
    leader = await client.leader_get()
    return leader is not None and leader.leader_id == leader_id


async def _periodic_jobs(client: AsyncClient) -> list[Any]:
    return (await client.job_list(JobListParams(kinds=["greet"]))).jobs


async def _has_seen(worker: AsyncGreeter, name: str) -> bool:
    return name in worker.seen


async def test_client_out_of_election_works_but_never_leads(db_url: str) -> None:
    greeter = AsyncGreeter()
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await record_leader_bids(conn)
        # Another client leads, so any client taking part in election keeps bidding (and losing).
        await conn.execute(
            "INSERT INTO river_leader (leader_id, elected_at, expires_at)"
            " VALUES ('other', now(), now() + interval '1 hour')"
        )
        async with AsyncClient(
            db_url, queues=FAST_QUEUE, workers=Workers(greeter), leader_election=False, client_id="py-solo"
        ) as client:
            await client.start()
            # A witness bidding every 100 ms from here on: once it has bid for twice an elector's start
            # stagger, this client would have bid too if it took part in election.
            witness = Elector(connect=connect_each_time(db_url), client_id="witness", config=WITNESS, stagger=False)
            await witness.start()
            await client.insert(Greet("solo"))
            await await_until(lambda: _has_seen(greeter, "solo"), what="job worked")
            await await_until(lambda: _bids_at_least(conn, "witness", WITNESS_BIDS), what="the witness's bids")
            await witness.stop()
            assert await leader_bids(conn, "py-solo") == 0
            assert not client.is_leader
            assert [q.name for q in await client.queue_list()] == ["default"]
            await client.stop()


WITNESS = ElectorConfig(elect_interval=timedelta(milliseconds=100), elect_interval_jitter=timedelta(0))
WITNESS_BIDS = 2 * int(START_STAGGER_MAX / WITNESS.elect_interval) + 1


async def _bids_at_least(conn: psycopg.AsyncConnection[Any], leader_id: str, count: int) -> bool:
    return await leader_bids(conn, leader_id) >= count


def test_creation_checks_working_settings(db_url: str) -> None:
    periodic = PeriodicJob(timedelta(minutes=1), lambda: (Greet("x"), None))
    with pytest.raises(ValidationError) as refused:
        Client(
            db_url, queues=FAST_QUEUE, workers=Workers(ThreadGreeter()), periodic_jobs=[periodic], leader_election=False
        )
    assert refused.value.field == "periodic_jobs"
    with pytest.raises(ValidationError) as no_workers:
        Client(db_url, queues=FAST_QUEUE)
    assert no_workers.value.field == "workers"
    with pytest.raises(ValidationError) as no_queues:
        Client(db_url, workers=Workers(ThreadGreeter()))
    assert no_queues.value.field == "queues"
    with pytest.raises(ValidationError) as bad_queue:
        Client(db_url, queues={"Bad Queue": QueueConfig()}, workers=Workers(ThreadGreeter()))
    assert bad_queue.value.field == "queues"


async def test_insert_only_client_refuses_to_work(db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        with pytest.raises(ValidationError, match="only inserts"):
            await client.start()
    with pytest.raises(ValidationError, match="only inserts"):
        Client(db_url).run()


async def test_client_contract_checks_args_before_work(conn: psycopg.Connection[Any], db_url: str) -> None:
    greeter = AsyncGreeter()
    contract = Contract.from_kinds([Greet])
    async with AsyncClient(db_url, queues=FAST_QUEUE, workers=Workers(greeter), contract=contract) as client:
        # Written by someone who ignored the contract: the name is a number.
        [bad] = insert_jobs(conn, "greet", [{"name": 7}])
        await client.start()
        await await_until(lambda: _finalized(client, bad), what="bad job finalized")
        job = await client.job_get(bad)
        await client.stop()
    assert job.state.value == "discarded"
    assert job.errors is not None
    assert "/name" in job.errors[-1].error
    assert greeter.seen == []


async def _finalized(client: AsyncClient, job_id: int) -> bool:
    return (await client.job_get(job_id)).finalized_at is not None
