from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
import pytest

from riverboat.events import EventKind
from riverboat.testing import require_inserted, require_not_inserted, work_job
from riverboat.worker import Worker, WorkJob, record_output
from tests.worker_support import insert_jobs


@dataclass
class Greet:
    kind: ClassVar[str] = "greet"
    name: str


class GreetWorker(Worker[Greet]):
    kind = "greet"
    args_type = Greet

    async def work(self, job: WorkJob[Greet]) -> None:
        if job.args.name == "fail":
            raise RuntimeError("no")
        record_output(f"hello {job.args.name}")


def test_require_inserted(conn: psycopg.Connection[Any]) -> None:
    insert_jobs(conn, "greet", [{"name": "ann"}, {"name": "bob"}], queue="q")
    job = require_inserted(conn, Greet, name="ann", queue="q")
    assert job.args == {"name": "ann"}
    require_not_inserted(conn, Greet, name="cy")
    with pytest.raises(AssertionError):
        require_inserted(conn, Greet)
    with pytest.raises(AssertionError):
        require_not_inserted(conn, "greet", queue="q")


async def test_work_job_in_a_transaction(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        event = await work_job(conn, GreetWorker(), Greet("ann"))
        assert event.kind == EventKind.COMPLETED
        assert event.job.metadata["output"] == "hello ann"
        failed = await work_job(conn, GreetWorker(), Greet("fail"), max_attempts=1)
        assert failed.kind == EventKind.DISCARDED
        assert failed.job.errors[0].error == "RuntimeError: no"
