"""A FastAPI app on riverboat: signing up inserts a user and enqueues its welcome email in
the request's database transaction (both or neither), and the app's own AsyncClient,
started in its lifespan, works the job.

    riverboat migrate up --database-url "$DATABASE_URL"     # River's schema, once
    DATABASE_URL=postgresql://localhost/app uvicorn examples.fastapi_app:app

A busy service would run its workers in processes of their own (``riverboat work``, see
docs/deploy.md) and keep an insert-only client in the app.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypedDict

from fastapi import Depends, FastAPI, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob


@dataclass
class SendWelcome:
    kind: ClassVar[str] = "send_welcome"
    user_id: int


class SendWelcomeWorker(Worker[SendWelcome]):
    kind = "send_welcome"
    args_type = SendWelcome

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def work(self, job: WorkJob[SendWelcome]) -> None:
        # A real worker sends the email here; this one records that it was sent.
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE users SET welcomed = true WHERE id = %s", [job.args.user_id])


class State(TypedDict):
    pool: AsyncConnectionPool[Any]
    riverboat: AsyncClient


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    url = os.environ["DATABASE_URL"]
    async with AsyncConnectionPool(url, open=False) as pool:
        async with pool.connection() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS users (id bigserial PRIMARY KEY, email text NOT NULL, "
                "welcomed boolean NOT NULL DEFAULT false)"
            )
        workers = Workers(SendWelcomeWorker(pool))
        async with AsyncClient(url, queues={"default": QueueConfig(max_workers=10)}, workers=workers) as client:
            await client.start()
            yield {"pool": pool, "riverboat": client}
            # Leaving the block stops softly: running jobs finish first.


app = FastAPI(lifespan=lifespan)


async def transaction(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """The request's transaction: committed when the handler returns, rolled back if it raises."""
    pool: AsyncConnectionPool[Any] = request.state.pool
    async with pool.connection() as conn, conn.transaction():
        yield conn


# scope="function": the transaction commits before the response is sent.
Transaction = Annotated[AsyncConnection[Any], Depends(transaction, scope="function")]


class SignUp(BaseModel):
    email: str


class SignedUp(BaseModel):
    user_id: int
    job_id: int


@app.post("/users", status_code=201)
async def sign_up(body: SignUp, request: Request, conn: Transaction) -> SignedUp:
    client: AsyncClient = request.state.riverboat
    cursor = await conn.execute("INSERT INTO users (email) VALUES (%s) RETURNING id", [body.email])
    row = await cursor.fetchone()
    assert row is not None
    result = await client.insert_tx(conn, SendWelcome(user_id=row[0]))
    return SignedUp(user_id=row[0], job_id=result.job.id)
