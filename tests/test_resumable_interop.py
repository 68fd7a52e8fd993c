"""Resumable jobs across languages (spec/07-complete.md#resumable): a job interrupted in River
Go v0.51.2 (tests/go/cmd/riverresumable, River's own ResumableStep / ResumableStepCursor /
ResumableSetStepCursorTx) resumes in riverboat, and the reverse. Both languages leave the
same metadata after the interrupted attempt, and the resuming one skips exactly what the
other finished."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import riverboat
from riverboat import AsyncClient, InsertOpts, JobState, QueueConfig, RawArgs, Workers, WorkJob
from tests.helpers import await_until, go_binary

KIND = "resumable_interop"
QUEUE = "interop_resumable"
ITEMS = [1, 2, 3, 4, 5]
EVERY_RUN = ["prepare", "process 1", "process 2", "process 3", "process 4", "process 5", "finish"]
FINISHED = {JobState.COMPLETED, JobState.RETRYABLE, JobState.SCHEDULED, JobState.CANCELLED, JobState.DISCARDED}


def _python_workers(db_url: str, ran: list[str]) -> Workers:
    """riverboat's worker for the kind, step for step the Go helper's."""
    workers = Workers()

    @workers.register(KIND, next_retry=lambda job: datetime.now(UTC) + timedelta(hours=1))
    async def work(job: WorkJob[dict[str, Any]]) -> None:
        args = job.args

        def fail_here(step: str, item: int) -> None:
            if (args["fail_lang"], args["fail_step"], args["fail_item"]) == ("py", step, item):
                if args["how"] == "snooze":
                    riverboat.snooze(timedelta(hours=1))
                raise RuntimeError(f"failing {step} at {item} on purpose")

        async with riverboat.resumable() as steps:

            async def prepare() -> None:
                fail_here("prepare", 0)
                ran.append("prepare")

            async def process(cursor: dict[str, int] | None) -> None:
                last = (cursor or {}).get("last", 0)
                for item in args["items"]:
                    if item <= last:
                        continue
                    fail_here("process", item)
                    ran.append(f"process {item}")
                    if not args["tx"]:
                        steps.set_cursor({"last": item})
                        continue
                    async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
                        await steps.set_step_cursor_tx(conn, {"last": item})

            async def finish() -> None:
                fail_here("finish", 0)
                ran.append("finish")

            await steps.step("prepare", prepare)
            await steps.step_cursor("process", process)
            await steps.step("finish", finish)

    return workers


async def _work(language: str, db_url: str, job_id: int) -> tuple[list[str], JobState]:
    """Work the job in ``language`` until its attempt ends: what ran, and the state it left."""
    if language == "go":
        done = subprocess.run(
            [str(go_binary("riverresumable")), "-database-url", db_url, "-queue", QUEUE, "-job", str(job_id)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[-1].startswith("done "), done.stdout
        return [line.removeprefix("ran ") for line in lines[:-1]], JobState(lines[-1].removeprefix("done "))
    ran: list[str] = []
    queues = {QUEUE: QueueConfig(max_workers=1, fetch_poll_interval=timedelta(milliseconds=100))}
    async with AsyncClient(db_url, queues=queues, workers=_python_workers(db_url, ran)) as client:
        await client.start()
        try:
            job = await await_until(lambda: _finished(client, job_id), timeout=60, what=f"job {job_id} worked")
        finally:
            await client.stop()
    return ran, job.state


async def _finished(client: AsyncClient, job_id: int) -> Any:
    job = await client.job_get(job_id)
    return job if job.state in FINISHED else None


# (the step the first attempt fails at, its item, how, checkpoint in a transaction,
#  metadata after the failed attempt, what the second attempt runs, metadata after it)
SCENARIOS = [
    pytest.param(
        "process", 3, "error", False,
        {"river:resumable_step": "prepare", "river:resumable_cursor": {"process": {"last": 2}}},
        ["process 3", "process 4", "process 5", "finish"],
        {"river:resumable_step": "prepare", "river:resumable_cursor": {"process": {"last": 2}}},
        id="cursor-saved-on-error",
    ),
    pytest.param(
        "process", 3, "snooze", True,
        {"river:resumable_step": "process", "river:resumable_cursor": {"process": {"last": 2}}, "snoozes": 1},
        ["process 3", "process 4", "process 5", "finish"],
        {"river:resumable_step": "process", "river:resumable_cursor": {"process": {"last": 5}}, "snoozes": 1},
        id="cursor-checkpointed-in-tx-then-snooze",
    ),
    pytest.param(
        "finish", 0, "error", False,
        {"river:resumable_step": "process", "river:resumable_cursor": None},
        ["finish"],
        {"river:resumable_step": "process", "river:resumable_cursor": None},
        id="completed-steps-skipped",
    ),
]  # fmt: skip


async def _insert(client: AsyncClient, fail_lang: str, step: str, item: int, how: str, tx: bool) -> int:
    args = {"items": ITEMS, "fail_lang": fail_lang, "fail_step": step, "fail_item": item, "how": how, "tx": tx}
    return (await client.insert(RawArgs(KIND, args), InsertOpts(queue=QUEUE))).job.id


@pytest.mark.parametrize("first", ["go", "py"])
@pytest.mark.parametrize(("step", "item", "how", "tx", "interrupted", "resumed_runs", "final"), SCENARIOS)
async def test_interrupted_in_one_language_resumes_in_the_other(
    db_url: str, first: str, step: str, item: int, how: str, tx: bool, interrupted: Any, resumed_runs: Any, final: Any
) -> None:
    second = "py" if first == "go" else "go"
    async with AsyncClient(db_url) as client:
        job_id = await _insert(client, first, step, item, how, tx)
        ran, state = await _work(first, db_url, job_id)
        assert state == (JobState.SCHEDULED if how == "snooze" else JobState.RETRYABLE)
        assert ran == [run for run in EVERY_RUN if run not in resumed_runs]
        assert (await client.job_get(job_id)).metadata == interrupted
        await client.job_retry(job_id)
        assert await _work(second, db_url, job_id) == (resumed_runs, JobState.COMPLETED)
        assert (await client.job_get(job_id)).metadata == final
