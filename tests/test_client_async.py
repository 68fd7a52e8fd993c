"""The asyncio client: same behaviour as the generated sync one (spec/03-insert.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from riverboat import AsyncClient
from riverboat._insert import INSERT_CHUNK_SIZE, InsertOpts
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs
from riverboat.errors import ValidationError
from tests.helpers import await_until


@dataclass
class Hello:
    kind: ClassVar[str] = "hello"
    name: str


UNIQUE = InsertOpts(unique_opts=UniqueOpts(by_args=True))


async def test_insert_and_duplicates(db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        first = await client.insert(Hello("a"), UNIQUE)
        results = await client.insert_many(
            [(Hello("a"), UNIQUE), Hello("b"), (Hello("c"), UNIQUE), (Hello("c"), UNIQUE)]
        )
    assert [r.unique_skipped_as_duplicate for r in results] == [True, False, False, True]
    assert results[0].job.id == first.job.id
    assert results[3].job.id == results[2].job.id


async def test_tx_commit_rollback_and_notify(db_url: str) -> None:
    async with AsyncClient(db_url, queue="async_q") as client:
        listener = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
        await listener.execute('LISTEN "public.river_insert"')
        async with await psycopg.AsyncConnection.connect(db_url) as tx:
            await client.insert_tx(tx, Hello("x"))
            await tx.rollback()
            await client.insert_many_tx(tx, [Hello("y")])
            assert await client.insert_many_fast_tx(tx, [Hello("z")]) == 1
            await tx.commit()
        got: list[dict[str, Any]] = []

        async def received() -> bool:
            async for n in listener.notifies(timeout=0.2, stop_after=5):
                got.append(json.loads(n.payload))
            return bool(got)

        await await_until(received, what="insert notification")
        await listener.close()
    assert {p["queue"] for p in got} == {"async_q"}
    with psycopg.connect(db_url) as c:
        rows = c.execute("SELECT args->>'name' FROM river_job ORDER BY id").fetchall()
    assert rows == [("y",), ("z",)]


async def test_caller_pool_and_fast(db_url: str) -> None:
    async with AsyncConnectionPool(db_url, min_size=1, open=False) as pool:
        client = AsyncClient(pool)
        assert await client.insert_many_fast([RawArgs("raw", {"n": i}) for i in range(10)]) == 10
        with pytest.raises(ValidationError, match="insert_many_fast"):
            await client.insert_many_fast([(Hello("u"), UNIQUE)])
        await client.close()
        async with pool.connection() as c:
            cur = await c.execute("SELECT count(*) FROM river_job")
            assert await cur.fetchone() == (10,)


async def test_large_batches_span_chunks_and_a_bad_job_inserts_nothing(db_url: str) -> None:
    size = 3 * INSERT_CHUNK_SIZE + 7
    async with AsyncClient(db_url) as client:
        items: list[Any] = [(Hello(f"u{i // 100 % 3}"), UNIQUE) if i % 100 == 0 else Hello(str(i)) for i in range(size)]
        results = await client.insert_many(items)
        assert [r.job.args["name"] for r in results] == [item[0].name if isinstance(item, tuple) else item.name
                                                         for item in items]
        # Unique jobs repeat across chunks: each later one answers with the first one's row.
        first_of: dict[str, int] = {}
        for item, result in zip(items, results, strict=True):
            if isinstance(item, tuple):
                name = item[0].name
                assert result.unique_skipped_as_duplicate == (name in first_of)
                assert result.job.id == first_of.setdefault(name, result.job.id)
        # Eight unique jobs under three names: five repeats.
        stored = size - 5
        assert len({r.job.id for r in results}) == stored

        bad = [Hello(str(i)) for i in range(size)] + [RawArgs("bad kind", "[]")]
        for insert in (client.insert_many, client.insert_many_fast):
            with pytest.raises(ValidationError, match="args") as info:
                await insert(bad)
            assert info.value.field == "args"
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM river_job").fetchone() == (stored,)


# jsonb refuses U+0000 (SQLSTATE 22P05), so it is refused before anything is sent (spec/03-insert.md#nul).
BAD_JOBS: list[Any] = [
    RawArgs("bad", "[]"),
    Hello("a\x00b"),
    RawArgs("bad", '{"s":"\\u0000"}'),
    (Hello("x"), InsertOpts(metadata={"deep": {"k\x00": 1}})),
]


@pytest.mark.parametrize("bad_job", BAD_JOBS)
async def test_a_bad_job_leaves_the_callers_transaction_usable(db_url: str, bad_job: Any) -> None:
    async with AsyncClient(db_url) as client, await psycopg.AsyncConnection.connect(db_url) as tx:
        await client.insert_tx(tx, Hello("kept"))
        bad = [Hello(str(i)) for i in range(INSERT_CHUNK_SIZE + 1)] + [bad_job]
        with pytest.raises(ValidationError):
            await client.insert_many_tx(tx, bad)
        with pytest.raises(ValidationError):
            await client.insert_many_fast_tx(tx, bad)
        await tx.commit()
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT args->>'name' FROM river_job").fetchall() == [("kept",)]


async def test_a_database_error_mid_batch_rolls_back_and_the_pool_stays_usable(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.args->>'name' = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$"
        )
        admin.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
        )
    try:
        items = [Hello(str(i)) for i in range(2 * INSERT_CHUNK_SIZE)] + [Hello("boom")]
        async with AsyncConnectionPool(db_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}) as pool:
            client = AsyncClient(pool)
            for _ in range(2):  # the one pooled connection comes back clean each time
                with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                    await client.insert_many(items)
                with pytest.raises(psycopg.errors.RaiseException, match="boom refused"):
                    await client.insert_many_fast(items)
            assert [r.job.args["name"] for r in await client.insert_many([Hello("after")])] == ["after"]
        async with await psycopg.AsyncConnection.connect(db_url) as tx:
            with pytest.raises(psycopg.errors.RaiseException):
                await client.insert_many_tx(tx, items)
            # As after any failed statement, the caller's transaction is aborted until rolled back.
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                await tx.execute("SELECT 1")
            await tx.rollback()
            await client.insert_tx(tx, Hello("in tx"))
            await tx.commit()
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute("DROP TRIGGER refuse_boom ON river_job")
            admin.execute("DROP FUNCTION refuse_boom()")
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT args->>'name' FROM river_job ORDER BY id").fetchall() == [("after",), ("in tx",)]
