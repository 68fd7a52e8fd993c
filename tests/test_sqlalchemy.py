"""The ``_tx`` inserts join a SQLAlchemy transaction: a ``Session`` / ``Connection`` (sync)
or ``AsyncSession`` / ``AsyncConnection`` on the psycopg driver is unwrapped to its psycopg
connection, so the job commits or rolls back with the caller's rows
(spec/03-insert.md#transactions). Any other driver is refused by name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from riverboat import AsyncClient, Client, ValidationError


@dataclass
class SendEmail:
    kind: ClassVar[str] = "send_email"
    to: str


def _sqlalchemy_url(db_url: str, driver: str) -> str:
    return db_url.replace("postgresql://", f"postgresql+{driver}://", 1)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(_sqlalchemy_url(db_url, "psycopg"))
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE users (email text NOT NULL)"))
    yield engine
    engine.dispose()


@pytest.fixture
async def async_engine(engine: Engine, db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(_sqlalchemy_url(db_url, "psycopg"))
    yield engine
    await engine.dispose()


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with Client(db_url) as c:
        yield c


def _emails(conn: psycopg.Connection[Any]) -> tuple[list[str], list[str]]:
    """(users' emails, queued jobs' recipients) as another connection sees them."""
    users = [row[0] for row in conn.execute("SELECT email FROM users ORDER BY email")]
    jobs = [row[0] for row in conn.execute("SELECT args->>'to' FROM river_job ORDER BY id")]
    return users, jobs


def test_session_commit_and_rollback(engine: Engine, client: Client, conn: psycopg.Connection[Any]) -> None:
    with Session(engine) as session, session.begin():
        session.execute(text("INSERT INTO users VALUES ('a@example.com')"))
        result = client.insert_tx(session, SendEmail(to="a@example.com"))
        # The job is in the session's transaction: visible inside it, not yet outside.
        assert session.execute(text("SELECT count(*) FROM river_job")).scalar_one() == 1
        assert _emails(conn) == ([], [])
    assert _emails(conn) == (["a@example.com"], ["a@example.com"])
    assert result.job.args == {"to": "a@example.com"}

    with Session(engine) as session:
        session.execute(text("INSERT INTO users VALUES ('b@example.com')"))
        client.insert_many_tx(session, [SendEmail(to="b@example.com")])
        session.rollback()
    assert _emails(conn) == (["a@example.com"], ["a@example.com"])


def test_connection_and_copy_join_the_transaction(
    engine: Engine, client: Client, conn: psycopg.Connection[Any]
) -> None:
    with engine.connect() as connection:
        with connection.begin():
            connection.execute(text("INSERT INTO users VALUES ('c@example.com')"))
            assert client.insert_many_fast_tx(connection, [SendEmail(to="c@example.com")]) == 1
            assert _emails(conn) == ([], [])
        with connection.begin() as rolled_back:
            client.insert_tx(connection, SendEmail(to="never@example.com"))
            rolled_back.rollback()
    assert _emails(conn) == (["c@example.com"], ["c@example.com"])


async def test_async_session_commit_and_rollback(
    async_engine: AsyncEngine, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with AsyncClient(db_url) as client:
        async with AsyncSession(async_engine) as session, session.begin():
            await session.execute(text("INSERT INTO users VALUES ('d@example.com')"))
            await client.insert_tx(session, SendEmail(to="d@example.com"))
            assert (await session.execute(text("SELECT count(*) FROM river_job"))).scalar_one() == 1
            assert _emails(conn) == ([], [])
        async with AsyncSession(async_engine) as session:
            await client.insert_many_fast_tx(session, [SendEmail(to="never@example.com")])
            await session.rollback()
    assert _emails(conn) == (["d@example.com"], ["d@example.com"])


async def test_async_connection_joins_the_transaction(
    async_engine: AsyncEngine, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with AsyncClient(db_url) as client, async_engine.connect() as connection:
        async with connection.begin():
            await connection.execute(text("INSERT INTO users VALUES ('e@example.com')"))
            await client.insert_many_tx(connection, [SendEmail(to="e@example.com")])
            assert _emails(conn) == ([], [])
        async with connection.begin() as rolled_back:
            await client.insert_tx(connection, SendEmail(to="never@example.com"))
            await rolled_back.rollback()
    assert _emails(conn) == (["e@example.com"], ["e@example.com"])


def test_another_driver_is_refused_by_name(db_url: str, client: Client, conn: psycopg.Connection[Any]) -> None:
    engine = create_engine(_sqlalchemy_url(db_url, "psycopg2"))
    try:
        with Session(engine) as session, pytest.raises(ValidationError) as raised:
            client.insert_tx(session, SendEmail(to="a@example.com"))
    finally:
        engine.dispose()
    assert raised.value.field == "conn"
    assert "psycopg (3) driver (a postgresql+psycopg:// URL), not psycopg2" in str(raised.value)
    assert conn.execute("SELECT count(*) FROM river_job").fetchone() == (0,)


async def test_sync_session_is_refused_by_the_async_client(engine: Engine, db_url: str) -> None:
    async with AsyncClient(db_url) as client:
        with Session(engine) as session, pytest.raises(ValidationError) as raised:
            await client.insert_tx(session, SendEmail(to="a@example.com"))
    assert raised.value.field == "conn"
    assert "AsyncSession or AsyncConnection on the psycopg driver" in str(raised.value)
