"""The insert client against a real database: every option, transactions, notifications,
unique conflicts, bulk and COPY inserts, large batches, errors mid-batch (spec/03-insert.md),
and its admin operations (spec/12-queues-and-admin.md). Written once for ``AsyncClient``;
``test_client_sync.py`` runs the same tests against the generated ``Client``."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat import AsyncClient
from riverboat._insert import INSERT_CHUNK_SIZE, InsertManyParams, InsertOpts
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs
from riverboat.errors import JobNotFoundError, ValidationError
from tests.db_support_async import Listener, listening
from tests.helpers import await_until


@dataclass
class SendEmail:
    kind: ClassVar[str] = "send_email"
    to: str


@dataclass
class Report:
    kind: ClassVar[str] = "report"
    insert_opts: ClassVar[InsertOpts] = InsertOpts(queue="reports", priority=3, max_attempts=5, tags=("kind_tag",))
    name: str


UNIQUE = InsertOpts(unique_opts=UniqueOpts(by_args=True))


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(db_url) as c:
        yield c


@pytest.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """An autocommit connection to the client's database, to read what it wrote."""
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as connection:
        yield connection


async def _count(conn: psycopg.AsyncConnection[Any], where: str = "true") -> int:
    cur = await conn.execute(f"SELECT count(*) FROM river_job WHERE {where}")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def _column(conn: psycopg.AsyncConnection[Any], query: str) -> list[Any]:
    cur = await conn.execute(query)
    return [row[0] for row in await cur.fetchall()]


async def _insert_channel(db_url: str) -> str:
    """The channel the client notifies on: ``river_insert`` in the database's current schema."""
    async with await psycopg.AsyncConnection.connect(db_url) as c:
        cur = await c.execute("SELECT current_schema()")
        row = await cur.fetchone()
    assert row is not None
    return f"{row[0]}.river_insert"


async def _received(listener: Listener) -> list[dict[str, Any]]:
    return await await_until(listener.receive, what="insert notifications")


async def test_insert_defaults(client: AsyncClient, aconn: psycopg.AsyncConnection[Any]) -> None:
    before = datetime.now(UTC)
    result = await client.insert(SendEmail(to="a@example.com"))
    job = result.job
    assert not result.unique_skipped_as_duplicate
    assert (job.kind, job.queue, job.priority, job.max_attempts, job.attempt) == ("send_email", "default", 1, 25, 0)
    assert job.state is JobState.AVAILABLE
    assert job.args == {"to": "a@example.com"}
    assert job.tags == []
    assert job.metadata == {}
    assert job.errors == []
    assert job.attempted_by == []
    assert job.unique_key is None
    assert job.unique_states is None
    assert before <= job.scheduled_at <= datetime.now(UTC)
    assert await _count(aconn) == 1


async def test_every_option_together(client: AsyncClient) -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    opts = InsertOpts(
        queue="q_1",
        priority=4,
        max_attempts=3,
        scheduled_at=at,
        tags=("alpha", "be-ta"),
        metadata={"trace_id": "t1", "n": [1, 2]},
        unique_opts=UniqueOpts(by_args=True),
    )
    job = (await client.insert(SendEmail(to="x"), opts)).job
    assert (job.queue, job.priority, job.max_attempts, job.scheduled_at) == ("q_1", 4, 3, at)
    assert job.state is JobState.SCHEDULED
    assert job.tags == ["alpha", "be-ta"]
    assert job.metadata == {"trace_id": "t1", "n": [1, 2]}
    assert job.unique_key is not None
    assert len(job.unique_key) == 32
    assert job.unique_states is not None
    assert {s.value for s in job.unique_states} == {
        "available", "completed", "pending", "retryable", "running", "scheduled"
    }  # fmt: skip


async def test_pending_beats_scheduled(client: AsyncClient) -> None:
    past = datetime(2000, 1, 1, tzinfo=UTC)
    pending = await client.insert(SendEmail(to="x"), InsertOpts(pending=True, scheduled_at=past))
    assert pending.job.state is JobState.PENDING
    scheduled = await client.insert(SendEmail(to="x"), InsertOpts(scheduled_at=past))
    assert scheduled.job.state is JobState.SCHEDULED


async def test_scheduled_in_past_is_scheduled(client: AsyncClient) -> None:
    job = (await client.insert(SendEmail(to="x"), InsertOpts(scheduled_at=datetime.now(UTC) - timedelta(days=1)))).job
    assert job.state is JobState.SCHEDULED


async def test_precedence_insert_then_kind_then_client(db_url: str) -> None:
    async with AsyncClient(db_url, queue="client_q", priority=2, max_attempts=7) as client:
        plain = (await client.insert(SendEmail(to="x"))).job
        assert (plain.queue, plain.priority, plain.max_attempts) == ("client_q", 2, 7)
        kind = (await client.insert(Report(name="r"))).job
        assert (kind.queue, kind.priority, kind.max_attempts, kind.tags) == ("reports", 3, 5, ["kind_tag"])
        given_opts = (await client.insert(Report(name="r"), InsertOpts(queue="mine", tags=()))).job
        assert (given_opts.queue, given_opts.priority, given_opts.tags) == ("mine", 3, [])


async def test_raw_args_are_stored_byte_for_byte(client: AsyncClient, aconn: psycopg.AsyncConnection[Any]) -> None:
    job = (await client.insert(RawArgs("elsewhere", '{"b":1,"a":"<&>"}'))).job
    assert job.kind == "elsewhere"
    assert job.args == {"b": 1, "a": "<&>"}
    mapped = (await client.insert(RawArgs("elsewhere", {"z": "\u2028", "a": 1.5e-7}))).job
    [stored] = await _column(aconn, f"SELECT args::text FROM river_job WHERE id = {mapped.id}")
    assert json.loads(stored) == {"z": "\u2028", "a": 1.5e-7}


BAD_ARGS: list[Any] = [RawArgs("k", "[1]"), RawArgs("k", "not json"), RawArgs("k", 7), {"kind": "x"}]  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_ARGS)
async def test_non_object_args_rejected(client: AsyncClient, aconn: psycopg.AsyncConnection[Any], bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        await client.insert(bad)
    assert err.value.field == "args"
    assert await _count(aconn) == 0


async def test_bad_batch_inserts_nothing(client: AsyncClient, aconn: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(ValidationError, match="kind"):
        await client.insert_many([SendEmail(to="x"), RawArgs("", {})])
    assert await _count(aconn) == 0


async def test_empty_batches_are_refused_as_river_go_refuses_them(client: AsyncClient, db_url: str) -> None:
    # River Go v0.51.2: InsertMany, InsertManyTx, InsertManyFast[Tx] fail with "no jobs to insert".
    async with await psycopg.AsyncConnection.connect(db_url) as tx_conn:
        for batch in (
            lambda: client.insert_many([]),
            lambda: client.insert_many_fast([]),
            lambda: client.insert_many_tx(tx_conn, []),
            lambda: client.insert_many_fast_tx(tx_conn, []),
        ):
            with pytest.raises(ValidationError) as caught:
                await batch()
            assert (caught.value.field, caught.value.rule) == ("insert_many", "length")


async def test_commit_and_rollback_visibility(
    client: AsyncClient, db_url: str, aconn: psycopg.AsyncConnection[Any]
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as tx_conn:
        job = (await client.insert_tx(tx_conn, SendEmail(to="tx"))).job
        assert await _count(aconn, f"id = {job.id}") == 0
        await tx_conn.commit()
        assert await _count(aconn, f"id = {job.id}") == 1
        rolled = await client.insert_many_tx(tx_conn, [SendEmail(to="r1"), SendEmail(to="r2")])
        assert len(rolled) == 2
        await tx_conn.rollback()
    assert await _count(aconn) == 1


async def test_insert_tx_on_autocommit_connection_commits(
    client: AsyncClient, db_url: str, aconn: psycopg.AsyncConnection[Any]
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as auto:
        await client.insert_tx(auto, SendEmail(to="auto"))
    assert await _count(aconn) == 1


async def test_notification_on_commit_only(client: AsyncClient, db_url: str) -> None:
    async with listening(db_url, await _insert_channel(db_url)) as listener:
        async with await psycopg.AsyncConnection.connect(db_url) as tx_conn:
            await client.insert_many_tx(tx_conn, [SendEmail(to="a"), SendEmail(to="b"), Report(name="r")])
            await tx_conn.rollback()
        assert await listener.receive(within=0.5) == []
        await client.insert_many(
            [
                SendEmail(to="a"),
                (SendEmail(to="b"), InsertOpts(queue="other")),
                InsertManyParams(SendEmail(to="c"), InsertOpts(queue="later", scheduled_at=datetime.now(UTC))),
                SendEmail(to="d"),
            ]
        )
        got = await _received(listener)
        assert sorted(p["queue"] for p in got) == ["default", "other"]


async def test_tx_commit_rollback_and_notify(db_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    async with (
        AsyncClient(db_url, queue="async_q") as client,
        listening(db_url, await _insert_channel(db_url)) as listener,
    ):
        async with await psycopg.AsyncConnection.connect(db_url) as tx:
            await client.insert_tx(tx, SendEmail("x"))
            await tx.rollback()
            await client.insert_many_tx(tx, [SendEmail("y")])
            assert await client.insert_many_fast_tx(tx, [SendEmail("z")]) == 1
            await tx.commit()
        got = await _received(listener)
    assert {p["queue"] for p in got} == {"async_q"}
    assert await _column(aconn, "SELECT args->>'to' FROM river_job ORDER BY id") == ["y", "z"]


async def test_notification_with_explicit_schema(db_url: str) -> None:
    async with (
        listening(db_url, await _insert_channel(db_url)) as listener,
        AsyncClient(db_url, schema="public") as client,
    ):
        await client.insert(SendEmail(to="x"))
        assert await _received(listener) == [{"queue": "default"}]


async def test_unique_conflict_with_live_row(client: AsyncClient) -> None:
    first = await client.insert(SendEmail(to="u"), UNIQUE)
    second = await client.insert(SendEmail(to="u"), UNIQUE)
    assert not first.unique_skipped_as_duplicate
    assert second.unique_skipped_as_duplicate
    assert second.job.id == first.job.id
    other = await client.insert(SendEmail(to="v"), UNIQUE)
    assert not other.unique_skipped_as_duplicate
    assert other.job.id != first.job.id


@pytest.mark.parametrize(("state", "blocks"), [("completed", True), ("cancelled", False), ("discarded", False)])
async def test_unique_conflict_with_finalized_row(
    client: AsyncClient, aconn: psycopg.AsyncConnection[Any], state: str, blocks: bool
) -> None:
    first = (await client.insert(SendEmail(to="u"), UNIQUE)).job
    await aconn.execute("UPDATE river_job SET state = %s, finalized_at = now() WHERE id = %s", (state, first.id))
    again = await client.insert(SendEmail(to="u"), UNIQUE)
    assert again.unique_skipped_as_duplicate is blocks
    assert (again.job.id == first.id) is blocks


async def test_duplicate_keys_inside_one_batch(client: AsyncClient, aconn: psycopg.AsyncConnection[Any]) -> None:
    results = await client.insert_many(
        [
            (SendEmail(to="a"), UNIQUE),
            (SendEmail(to="b"), UNIQUE),
            (SendEmail(to="a"), UNIQUE),
            SendEmail(to="a"),
            (SendEmail(to="b"), UNIQUE),
        ]
    )
    assert [r.unique_skipped_as_duplicate for r in results] == [False, False, True, False, True]
    assert results[2].job.id == results[0].job.id
    assert results[4].job.id == results[1].job.id
    assert [r.job.args["to"] for r in results] == ["a", "b", "a", "a", "b"]
    assert await _count(aconn) == 3


async def test_insert_and_duplicates(client: AsyncClient) -> None:
    first = await client.insert(SendEmail("a"), UNIQUE)
    results = await client.insert_many(
        [(SendEmail("a"), UNIQUE), SendEmail("b"), (SendEmail("c"), UNIQUE), (SendEmail("c"), UNIQUE)]
    )
    assert [r.unique_skipped_as_duplicate for r in results] == [True, False, False, True]
    assert results[0].job.id == first.job.id
    assert results[3].job.id == results[2].job.id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=12))
async def test_random_duplicates_one_row_per_key_in_input_order(
    client: AsyncClient, db_url: str, batch: list[tuple[int, bool]]
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as tx_conn:
        items = [(SendEmail(to=str(n)), UNIQUE if unique else None) for n, unique in batch]
        results = await client.insert_many_tx(tx_conn, items)
        assert [r.job.args["to"] for r in results] == [str(n) for n, _ in batch]
        first_id: dict[int, int] = {}
        for (n, unique), result in zip(batch, results, strict=True):
            if not unique:
                assert not result.unique_skipped_as_duplicate
                continue
            assert result.unique_skipped_as_duplicate is (n in first_id)
            assert result.job.id == first_id.setdefault(n, result.job.id)
        async with tx_conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT count(*) AS n FROM river_job")
            row = await cur.fetchone()
        assert row is not None
        assert row["n"] == len({n for n, u in batch if u}) + sum(1 for _, u in batch if not u)
        await tx_conn.rollback()


async def test_insert_many_fast_copy(client: AsyncClient, db_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    async with listening(db_url, await _insert_channel(db_url)) as listener:
        count = await client.insert_many_fast(
            [SendEmail(to=str(i)) for i in range(50)]
            + [(Report(name="r"), InsertOpts(metadata={"m": 1}, tags=("t_1",), pending=True))]
        )
        assert count == 51
        assert await _received(listener) == [{"queue": "default"}]
    assert await _count(aconn, "kind = 'send_email' AND state = 'available'") == 50
    cur = await aconn.execute("SELECT state, tags, metadata, queue FROM river_job WHERE kind = 'report'")
    assert await cur.fetchone() == ("pending", ["t_1"], {"m": 1}, "reports")


async def test_insert_many_fast_refuses_unique_jobs(client: AsyncClient, aconn: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(ValidationError, match="insert_many_fast"):
        await client.insert_many_fast([SendEmail(to="a"), (SendEmail(to="b"), UNIQUE)])
    assert await _count(aconn) == 0


async def test_insert_many_fast_tx_rolls_back(
    client: AsyncClient, db_url: str, aconn: psycopg.AsyncConnection[Any]
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as tx_conn:
        assert await client.insert_many_fast_tx(tx_conn, [SendEmail(to="a")]) == 1
        await tx_conn.rollback()
    assert await _count(aconn) == 0


async def test_caller_pool_is_left_open(db_url: str) -> None:
    async with AsyncConnectionPool(db_url, min_size=1, open=False) as pool:
        async with AsyncClient(pool) as client:
            await client.insert(SendEmail(to="p"))
            assert await client.insert_many_fast([RawArgs("raw", {"n": i}) for i in range(10)]) == 10
        async with pool.connection() as c:
            assert await _count(c) == 11


async def test_insert_only_client_starts_nothing(db_url: str, aconn: psycopg.AsyncConnection[Any]) -> None:
    threads = threading.active_count()
    client = AsyncClient(db_url + "?application_name=rb_probe")
    assert threading.active_count() == threads
    probe = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rb_probe'"
    assert await _column(aconn, probe) == [0]
    await client.insert(SendEmail(to="x"))
    [opened] = await _column(aconn, probe)
    assert opened >= 1
    await client.close()


async def test_large_batches_span_chunks_and_a_bad_job_inserts_nothing(
    client: AsyncClient, aconn: psycopg.AsyncConnection[Any]
) -> None:
    size = 3 * INSERT_CHUNK_SIZE + 7
    items: list[Any] = [
        (SendEmail(f"u{i // 100 % 3}"), UNIQUE) if i % 100 == 0 else SendEmail(str(i)) for i in range(size)
    ]
    results = await client.insert_many(items)
    assert [r.job.args["to"] for r in results] == [item[0].to if isinstance(item, tuple) else item.to for item in items]
    # Unique jobs repeat across chunks: each later one answers with the first one's row.
    first_of: dict[str, int] = {}
    for item, result in zip(items, results, strict=True):
        if isinstance(item, tuple):
            name = item[0].to
            assert result.unique_skipped_as_duplicate == (name in first_of)
            assert result.job.id == first_of.setdefault(name, result.job.id)
    # Eight unique jobs under three names: five repeats.
    stored = size - 5
    assert len({r.job.id for r in results}) == stored

    bad = [SendEmail(str(i)) for i in range(size)] + [RawArgs("bad kind", "[]")]
    for insert in (client.insert_many, client.insert_many_fast):
        with pytest.raises(ValidationError, match="args") as info:
            await insert(bad)
        assert info.value.field == "args"
    assert await _count(aconn) == stored


# jsonb refuses U+0000 (SQLSTATE 22P05), so it is refused before anything is sent (spec/03-insert.md#nul).
BAD_JOBS: list[Any] = [
    RawArgs("bad", "[]"),
    SendEmail("a\x00b"),
    RawArgs("bad", '{"s":"\\u0000"}'),
    (SendEmail("x"), InsertOpts(metadata={"deep": {"k\x00": 1}})),
]


@pytest.mark.parametrize("bad_job", BAD_JOBS)
async def test_a_bad_job_leaves_the_callers_transaction_usable(
    client: AsyncClient, db_url: str, aconn: psycopg.AsyncConnection[Any], bad_job: Any
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as tx:
        await client.insert_tx(tx, SendEmail("kept"))
        bad = [SendEmail(str(i)) for i in range(INSERT_CHUNK_SIZE + 1)] + [bad_job]
        with pytest.raises(ValidationError):
            await client.insert_many_tx(tx, bad)
        with pytest.raises(ValidationError):
            await client.insert_many_fast_tx(tx, bad)
        await tx.commit()
    assert await _column(aconn, "SELECT args->>'to' FROM river_job") == ["kept"]


async def test_a_database_error_mid_batch_rolls_back_and_the_pool_stays_usable(
    db_url: str, aconn: psycopg.AsyncConnection[Any]
) -> None:
    await aconn.execute(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.args->>'to' = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$"
    )
    await aconn.execute(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
    )
    items = [SendEmail(str(i)) for i in range(2 * INSERT_CHUNK_SIZE)] + [SendEmail("boom")]
    async with AsyncConnectionPool(db_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}) as pool:
        client = AsyncClient(pool)
        for _ in range(2):  # the one pooled connection comes back clean each time
            with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                await client.insert_many(items)
            with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                await client.insert_many_fast(items)
        assert [r.job.args["to"] for r in await client.insert_many([SendEmail("after")])] == ["after"]
    async with await psycopg.AsyncConnection.connect(db_url) as tx:
        with pytest.raises(psycopg.errors.RaiseException):
            await client.insert_many_tx(tx, items)
        # As after any failed statement, the caller's transaction is aborted until rolled back.
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            await tx.execute("SELECT 1")
        await tx.rollback()
        await client.insert_tx(tx, SendEmail("in tx"))
        await tx.commit()
    assert await _column(aconn, "SELECT args->>'to' FROM river_job ORDER BY id") == ["after", "in tx"]


async def test_client_administers(client: AsyncClient) -> None:
    waiting = await client.insert(SendEmail("later"), InsertOpts(scheduled_at=datetime.now(UTC) + timedelta(hours=1)))
    assert (await client.job_cancel(waiting.job.id)).state is JobState.CANCELLED
    assert (await client.job_retry(waiting.job.id)).state is JobState.AVAILABLE
    assert (await client.job_delete(waiting.job.id)).id == waiting.job.id
    with pytest.raises(JobNotFoundError):
        await client.job_get(waiting.job.id)
    with pytest.raises(ValidationError) as bad_queue:
        await client.queue_pause("Not A Queue")
    assert bad_queue.value.field == "queue"
