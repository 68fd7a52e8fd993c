"""Exactly-once effects inside the database: a worker credits an account and completes its
job in one transaction (``complete_tx``), and enqueues a follow-up job in the same
transaction through the client working it (``current_client``). If the transaction
commits, the credit, the follow-up and the completion all happened; if anything fails
before the commit, none did, and the job is retried.

    riverboat migrate up --database-url "$DATABASE_URL"     # River's schema, once
    DATABASE_URL=postgresql://localhost/app python -m examples.complete_in_transaction
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import psycopg

from riverboat import AsyncClient, InsertOpts, QueueConfig, Worker, Workers, WorkJob, current_client


@dataclass
class Credit:
    kind: ClassVar[str] = "credit_account"
    account: str
    cents: int


@dataclass
class SendReceipt:
    kind: ClassVar[str] = "send_receipt"
    account: str


class CreditWorker(Worker[Credit]):
    kind = "credit_account"
    args_type = Credit

    def __init__(self, url: str) -> None:
        self.url = url

    async def work(self, job: WorkJob[Credit]) -> None:
        client = current_client()
        async with await psycopg.AsyncConnection.connect(self.url) as conn, conn.transaction():
            await conn.execute(
                "UPDATE accounts SET cents = cents + %s WHERE name = %s", (job.args.cents, job.args.account)
            )
            await client.insert_tx(conn, SendReceipt(job.args.account), InsertOpts(queue="receipts"))
            await client.complete_tx(conn, job)


async def main(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS accounts (name text PRIMARY KEY, cents bigint NOT NULL)")
        await conn.execute("INSERT INTO accounts VALUES ('alice', 0) ON CONFLICT (name) DO UPDATE SET cents = 0")
    client = AsyncClient(
        url,
        queues={"default": QueueConfig(fetch_poll_interval=timedelta(milliseconds=100))},
        workers=Workers(CreditWorker(url)),
        leader_election=False,
    )
    job = (await client.insert(Credit("alice", 250))).job
    await client.start()
    try:
        while (await client.job_get(job.id)).state.value != "completed":
            await asyncio.sleep(0.05)
    finally:
        await client.close()
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cents = await (await conn.execute("SELECT cents FROM accounts WHERE name = 'alice'")).fetchone()
        receipts = await (await conn.execute("SELECT count(*) FROM river_job WHERE kind = 'send_receipt'")).fetchone()
    print(f"alice has {cents and cents[0]} cents; {receipts and receipts[0]} receipt job queued")


if __name__ == "__main__":
    asyncio.run(main(os.environ["DATABASE_URL"]))
