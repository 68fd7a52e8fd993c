# Generated from test_client_async.py by scripts/generate_sync.py. Do not edit.
"""The insert client against a real database: every option, transactions, notifications,
unique conflicts, bulk and COPY inserts, large batches, errors mid-batch (spec/03-insert.md),
and its admin operations (spec/12-queues-and-admin.md). Written once for ``AsyncClient``;
``test_client_sync.py`` runs the same tests against the generated ``Client``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from riverboat import Client
from riverboat._insert import INSERT_CHUNK_SIZE, InsertManyParams, InsertOpts
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs
from riverboat.errors import JobNotFoundError, ValidationError
from tests.db_support_sync import Listener, listening
from tests.helpers import wait_until


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
def client(db_url: str) -> Iterator[Client]:
    with Client(db_url) as c:
        yield c


@pytest.fixture
def sconn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the client's database, to read what it wrote."""
    with psycopg.Connection.connect(db_url, autocommit=True) as connection:
        yield connection


def _count(conn: psycopg.Connection[Any], where: str = "true") -> int:
    cur = conn.execute(f"SELECT count(*) FROM river_job WHERE {where}")
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def _column(conn: psycopg.Connection[Any], query: str) -> list[Any]:
    cur = conn.execute(query)
    return [row[0] for row in cur.fetchall()]


def _insert_channel(db_url: str) -> str:
    """The channel the client notifies on: ``river_insert`` in the database's current schema."""
    with psycopg.Connection.connect(db_url) as c:
        cur = c.execute("SELECT current_schema()")
        row = cur.fetchone()
    assert row is not None
    return f"{row[0]}.river_insert"


def _received(listener: Listener) -> list[dict[str, Any]]:
    return wait_until(listener.receive, what="insert notifications")


def test_insert_defaults(client: Client, sconn: psycopg.Connection[Any]) -> None:
    before = datetime.now(UTC)
    result = client.insert(SendEmail(to="a@example.com"))
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
    assert _count(sconn) == 1


def test_every_option_together(client: Client) -> None:
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
    job = (client.insert(SendEmail(to="x"), opts)).job
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


def test_pending_beats_scheduled(client: Client) -> None:
    past = datetime(2000, 1, 1, tzinfo=UTC)
    pending = client.insert(SendEmail(to="x"), InsertOpts(pending=True, scheduled_at=past))
    assert pending.job.state is JobState.PENDING
    scheduled = client.insert(SendEmail(to="x"), InsertOpts(scheduled_at=past))
    assert scheduled.job.state is JobState.SCHEDULED


def test_scheduled_in_past_is_scheduled(client: Client) -> None:
    job = (client.insert(SendEmail(to="x"), InsertOpts(scheduled_at=datetime.now(UTC) - timedelta(days=1)))).job
    assert job.state is JobState.SCHEDULED


def test_precedence_insert_then_kind_then_client(db_url: str) -> None:
    with Client(db_url, queue="client_q", priority=2, max_attempts=7) as client:
        plain = (client.insert(SendEmail(to="x"))).job
        assert (plain.queue, plain.priority, plain.max_attempts) == ("client_q", 2, 7)
        kind = (client.insert(Report(name="r"))).job
        assert (kind.queue, kind.priority, kind.max_attempts, kind.tags) == ("reports", 3, 5, ["kind_tag"])
        given_opts = (client.insert(Report(name="r"), InsertOpts(queue="mine", tags=()))).job
        assert (given_opts.queue, given_opts.priority, given_opts.tags) == ("mine", 3, [])


def test_raw_args_are_stored_byte_for_byte(client: Client, sconn: psycopg.Connection[Any]) -> None:
    job = (client.insert(RawArgs("elsewhere", '{"b":1,"a":"<&>"}'))).job
    assert job.kind == "elsewhere"
    assert job.args == {"b": 1, "a": "<&>"}
    mapped = (client.insert(RawArgs("elsewhere", {"z": "\u2028", "a": 1.5e-7}))).job
    [stored] = _column(sconn, f"SELECT args::text FROM river_job WHERE id = {mapped.id}")
    assert json.loads(stored) == {"z": "\u2028", "a": 1.5e-7}


BAD_ARGS: list[Any] = [RawArgs("k", "[1]"), RawArgs("k", "not json"), RawArgs("k", 7), {"kind": "x"}]  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_ARGS)
def test_non_object_args_rejected(client: Client, sconn: psycopg.Connection[Any], bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        client.insert(bad)
    assert err.value.field == "args"
    assert _count(sconn) == 0


def test_bad_batch_inserts_nothing(client: Client, sconn: psycopg.Connection[Any]) -> None:
    with pytest.raises(ValidationError, match="kind"):
        client.insert_many([SendEmail(to="x"), RawArgs("", {})])
    assert _count(sconn) == 0


def test_empty_batches_are_refused_as_river_go_refuses_them(client: Client, db_url: str) -> None:
    # River Go v0.51.2: InsertMany, InsertManyTx, InsertManyFast[Tx] fail with "no jobs to insert".
    with psycopg.Connection.connect(db_url) as tx_conn:
        for batch in (
            lambda: client.insert_many([]),
            lambda: client.insert_many_fast([]),
            lambda: client.insert_many_tx(tx_conn, []),
            lambda: client.insert_many_fast_tx(tx_conn, []),
        ):
            with pytest.raises(ValidationError) as caught:
                batch()
            assert (caught.value.field, caught.value.rule) == ("insert_many", "length")


def test_commit_and_rollback_visibility(
    client: Client, db_url: str, sconn: psycopg.Connection[Any]
) -> None:
    with psycopg.Connection.connect(db_url) as tx_conn:
        job = (client.insert_tx(tx_conn, SendEmail(to="tx"))).job
        assert _count(sconn, f"id = {job.id}") == 0
        tx_conn.commit()
        assert _count(sconn, f"id = {job.id}") == 1
        rolled = client.insert_many_tx(tx_conn, [SendEmail(to="r1"), SendEmail(to="r2")])
        assert len(rolled) == 2
        tx_conn.rollback()
    assert _count(sconn) == 1


def test_insert_tx_on_autocommit_connection_commits(
    client: Client, db_url: str, sconn: psycopg.Connection[Any]
) -> None:
    with psycopg.Connection.connect(db_url, autocommit=True) as auto:
        client.insert_tx(auto, SendEmail(to="auto"))
    assert _count(sconn) == 1


def test_notification_on_commit_only(client: Client, db_url: str) -> None:
    with listening(db_url, _insert_channel(db_url)) as listener:
        with psycopg.Connection.connect(db_url) as tx_conn:
            client.insert_many_tx(tx_conn, [SendEmail(to="a"), SendEmail(to="b"), Report(name="r")])
            tx_conn.rollback()
        assert listener.receive(within=0.5) == []
        client.insert_many(
            [
                SendEmail(to="a"),
                (SendEmail(to="b"), InsertOpts(queue="other")),
                InsertManyParams(SendEmail(to="c"), InsertOpts(queue="later", scheduled_at=datetime.now(UTC))),
                SendEmail(to="d"),
            ]
        )
        got = _received(listener)
        assert sorted(p["queue"] for p in got) == ["default", "other"]


def test_tx_commit_rollback_and_notify(db_url: str, sconn: psycopg.Connection[Any]) -> None:
    with (
        Client(db_url, queue="async_q") as client,
        listening(db_url, _insert_channel(db_url)) as listener,
    ):
        with psycopg.Connection.connect(db_url) as tx:
            client.insert_tx(tx, SendEmail("x"))
            tx.rollback()
            client.insert_many_tx(tx, [SendEmail("y")])
            assert client.insert_many_fast_tx(tx, [SendEmail("z")]) == 1
            tx.commit()
        got = _received(listener)
    assert {p["queue"] for p in got} == {"async_q"}
    assert _column(sconn, "SELECT args->>'to' FROM river_job ORDER BY id") == ["y", "z"]


def test_notification_with_explicit_schema(db_url: str) -> None:
    with (
        listening(db_url, _insert_channel(db_url)) as listener,
        Client(db_url, schema="public") as client,
    ):
        client.insert(SendEmail(to="x"))
        assert _received(listener) == [{"queue": "default"}]


def test_unique_conflict_with_live_row(client: Client) -> None:
    first = client.insert(SendEmail(to="u"), UNIQUE)
    second = client.insert(SendEmail(to="u"), UNIQUE)
    assert not first.unique_skipped_as_duplicate
    assert second.unique_skipped_as_duplicate
    assert second.job.id == first.job.id
    other = client.insert(SendEmail(to="v"), UNIQUE)
    assert not other.unique_skipped_as_duplicate
    assert other.job.id != first.job.id


@pytest.mark.parametrize(("state", "blocks"), [("completed", True), ("cancelled", False), ("discarded", False)])
def test_unique_conflict_with_finalized_row(
    client: Client, sconn: psycopg.Connection[Any], state: str, blocks: bool
) -> None:
    first = (client.insert(SendEmail(to="u"), UNIQUE)).job
    sconn.execute("UPDATE river_job SET state = %s, finalized_at = now() WHERE id = %s", (state, first.id))
    again = client.insert(SendEmail(to="u"), UNIQUE)
    assert again.unique_skipped_as_duplicate is blocks
    assert (again.job.id == first.id) is blocks


def test_duplicate_keys_inside_one_batch(client: Client, sconn: psycopg.Connection[Any]) -> None:
    results = client.insert_many(
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
    assert _count(sconn) == 3


def test_insert_and_duplicates(client: Client) -> None:
    first = client.insert(SendEmail("a"), UNIQUE)
    results = client.insert_many(
        [(SendEmail("a"), UNIQUE), SendEmail("b"), (SendEmail("c"), UNIQUE), (SendEmail("c"), UNIQUE)]
    )
    assert [r.unique_skipped_as_duplicate for r in results] == [True, False, False, True]
    assert results[0].job.id == first.job.id
    assert results[3].job.id == results[2].job.id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=12))
def test_random_duplicates_one_row_per_key_in_input_order(
    client: Client, db_url: str, batch: list[tuple[int, bool]]
) -> None:
    with psycopg.Connection.connect(db_url) as tx_conn:
        items = [(SendEmail(to=str(n)), UNIQUE if unique else None) for n, unique in batch]
        results = client.insert_many_tx(tx_conn, items)
        assert [r.job.args["to"] for r in results] == [str(n) for n, _ in batch]
        first_id: dict[int, int] = {}
        for (n, unique), result in zip(batch, results, strict=True):
            if not unique:
                assert not result.unique_skipped_as_duplicate
                continue
            assert result.unique_skipped_as_duplicate is (n in first_id)
            assert result.job.id == first_id.setdefault(n, result.job.id)
        with tx_conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT count(*) AS n FROM river_job")
            row = cur.fetchone()
        assert row is not None
        assert row["n"] == len({n for n, u in batch if u}) + sum(1 for _, u in batch if not u)
        tx_conn.rollback()


def test_insert_many_fast_copy(client: Client, db_url: str, sconn: psycopg.Connection[Any]) -> None:
    with listening(db_url, _insert_channel(db_url)) as listener:
        count = client.insert_many_fast(
            [SendEmail(to=str(i)) for i in range(50)]
            + [(Report(name="r"), InsertOpts(metadata={"m": 1}, tags=("t_1",), pending=True))]
        )
        assert count == 51
        assert _received(listener) == [{"queue": "default"}]
    assert _count(sconn, "kind = 'send_email' AND state = 'available'") == 50
    cur = sconn.execute("SELECT state, tags, metadata, queue FROM river_job WHERE kind = 'report'")
    assert cur.fetchone() == ("pending", ["t_1"], {"m": 1}, "reports")


def test_insert_many_fast_refuses_unique_jobs(client: Client, sconn: psycopg.Connection[Any]) -> None:
    with pytest.raises(ValidationError, match="insert_many_fast"):
        client.insert_many_fast([SendEmail(to="a"), (SendEmail(to="b"), UNIQUE)])
    assert _count(sconn) == 0


def test_insert_many_fast_tx_rolls_back(
    client: Client, db_url: str, sconn: psycopg.Connection[Any]
) -> None:
    with psycopg.Connection.connect(db_url) as tx_conn:
        assert client.insert_many_fast_tx(tx_conn, [SendEmail(to="a")]) == 1
        tx_conn.rollback()
    assert _count(sconn) == 0


def test_caller_pool_is_left_open(db_url: str) -> None:
    with ConnectionPool(db_url, min_size=1, open=False) as pool:
        with Client(pool) as client:
            client.insert(SendEmail(to="p"))
            assert client.insert_many_fast([RawArgs("raw", {"n": i}) for i in range(10)]) == 10
        with pool.connection() as c:
            assert _count(c) == 11


def test_insert_only_client_starts_nothing(db_url: str, sconn: psycopg.Connection[Any]) -> None:
    threads = threading.active_count()
    client = Client(db_url + "?application_name=rb_probe")
    assert threading.active_count() == threads
    probe = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rb_probe'"
    assert _column(sconn, probe) == [0]
    client.insert(SendEmail(to="x"))
    [opened] = _column(sconn, probe)
    assert opened >= 1
    client.close()


def test_large_batches_span_chunks_and_a_bad_job_inserts_nothing(
    client: Client, sconn: psycopg.Connection[Any]
) -> None:
    size = 3 * INSERT_CHUNK_SIZE + 7
    items: list[Any] = [
        (SendEmail(f"u{i // 100 % 3}"), UNIQUE) if i % 100 == 0 else SendEmail(str(i)) for i in range(size)
    ]
    results = client.insert_many(items)
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
            insert(bad)
        assert info.value.field == "args"
    assert _count(sconn) == stored


# jsonb refuses U+0000 (SQLSTATE 22P05), so it is refused before anything is sent (spec/03-insert.md#nul).
BAD_JOBS: list[Any] = [
    RawArgs("bad", "[]"),
    SendEmail("a\x00b"),
    RawArgs("bad", '{"s":"\\u0000"}'),
    (SendEmail("x"), InsertOpts(metadata={"deep": {"k\x00": 1}})),
]


@pytest.mark.parametrize("bad_job", BAD_JOBS)
def test_a_bad_job_leaves_the_callers_transaction_usable(
    client: Client, db_url: str, sconn: psycopg.Connection[Any], bad_job: Any
) -> None:
    with psycopg.Connection.connect(db_url) as tx:
        client.insert_tx(tx, SendEmail("kept"))
        bad = [SendEmail(str(i)) for i in range(INSERT_CHUNK_SIZE + 1)] + [bad_job]
        with pytest.raises(ValidationError):
            client.insert_many_tx(tx, bad)
        with pytest.raises(ValidationError):
            client.insert_many_fast_tx(tx, bad)
        tx.commit()
    assert _column(sconn, "SELECT args->>'to' FROM river_job") == ["kept"]


def test_a_database_error_mid_batch_rolls_back_and_the_pool_stays_usable(
    db_url: str, sconn: psycopg.Connection[Any]
) -> None:
    sconn.execute(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.args->>'to' = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$"
    )
    sconn.execute(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
    )
    items = [SendEmail(str(i)) for i in range(2 * INSERT_CHUNK_SIZE)] + [SendEmail("boom")]
    with ConnectionPool(db_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}) as pool:
        client = Client(pool)
        for _ in range(2):  # the one pooled connection comes back clean each time
            with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                client.insert_many(items)
            with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                client.insert_many_fast(items)
        assert [r.job.args["to"] for r in client.insert_many([SendEmail("after")])] == ["after"]
    with psycopg.Connection.connect(db_url) as tx:
        with pytest.raises(psycopg.errors.RaiseException):
            client.insert_many_tx(tx, items)
        # As after any failed statement, the caller's transaction is aborted until rolled back.
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            tx.execute("SELECT 1")
        tx.rollback()
        client.insert_tx(tx, SendEmail("in tx"))
        tx.commit()
    assert _column(sconn, "SELECT args->>'to' FROM river_job ORDER BY id") == ["after", "in tx"]


def test_client_administers(client: Client) -> None:
    waiting = client.insert(SendEmail("later"), InsertOpts(scheduled_at=datetime.now(UTC) + timedelta(hours=1)))
    assert (client.job_cancel(waiting.job.id)).state is JobState.CANCELLED
    assert (client.job_retry(waiting.job.id)).state is JobState.AVAILABLE
    assert (client.job_delete(waiting.job.id)).id == waiting.job.id
    with pytest.raises(JobNotFoundError):
        client.job_get(waiting.job.id)
    with pytest.raises(ValidationError) as bad_queue:
        client.queue_pause("Not A Queue")
    assert bad_queue.value.field == "queue"
