from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import psycopg
import pytest

from riverboat._execute import (
    Cancelled,
    Discarded,
    Failure,
    Interrupted,
    Snoozed,
    Success,
    decide,
    describe,
    snooze_count,
)
from riverboat.errors import ValidationError
from riverboat.job import AttemptError
from riverboat.worker import (
    NO_TIMEOUT,
    QueueConfig,
    Worker,
    Workers,
    WorkJob,
    cancel,
    cancellation_requested,
    discard,
    set_metadata,
)
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, running_runtime, states

NOW = datetime(2026, 1, 2, tzinfo=UTC)
ERR = AttemptError(at=NOW, attempt=1, error="e", trace="")


def run_decide(outcome: Any, *, attempt: int = 1, max_attempts: int = 25, metadata: dict[str, Any] | None = None):
    return decide(
        job_id=1,
        attempt=attempt,
        max_attempts=max_attempts,
        metadata=metadata or {},
        outcome=outcome,
        metadata_updates={},
        duration=timedelta(0),
        now=NOW,
    )


def test_completion_rules_per_outcome() -> None:
    done = run_decide(Success())
    assert (done.state, done.finalized_at, done.error) == ("completed", NOW, None)
    soon = run_decide(Failure(ERR, NOW + timedelta(seconds=5)))
    assert (soon.state, soon.scheduled_at, soon.finalized_at) == ("available", NOW + timedelta(seconds=5), None)
    later = run_decide(Failure(ERR, NOW + timedelta(seconds=6)))
    assert later.state == "retryable"
    assert later.error == ERR.to_json()
    last = run_decide(Failure(ERR, NOW + timedelta(seconds=6)), attempt=3, max_attempts=3)
    assert (last.state, last.finalized_at) == ("discarded", NOW)
    assert run_decide(Cancelled(ERR)).state == "cancelled"
    assert run_decide(Discarded(ERR)).finalized_at == NOW
    short = run_decide(Snoozed(timedelta(seconds=5)), attempt=2, metadata={"snoozes": "4"})
    assert (short.state, short.attempt, short.error) == ("available", 1, None)
    assert short.metadata_updates == {"snoozes": 5}
    assert run_decide(Snoozed(timedelta(seconds=30))).state == "scheduled"
    stopped = run_decide(Interrupted(), attempt=2)
    assert (stopped.state, stopped.attempt, stopped.scheduled_at, stopped.error) == ("available", 1, NOW, None)


def test_snooze_counter_reads_like_gjson() -> None:
    assert [snooze_count(v) for v in (3, 2.9, -1.5, "7", True, False, None, "x", [1])] == [3, 2, -1, 7, 1, 0, 0, 0, 0]


def test_describe_survives_broken_str() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert describe(Broken()) == "Broken: <str() failed>"


def test_registry_rejects_duplicates_and_missing_kind() -> None:
    class A(Worker[Any]):
        kind = "a_kind"

    class NoKind(Worker[Any]):
        pass

    workers = Workers(A())
    with pytest.raises(ValidationError, match="already registered"):
        workers.add(A())
    with pytest.raises(ValidationError, match="kind"):
        workers.add(NoKind())
    with pytest.raises(ValidationError, match="max_workers"):
        QueueConfig(max_workers=0)
    with pytest.raises(ValidationError, match="fetch_poll_interval"):
        QueueConfig(fetch_cooldown=timedelta(seconds=2))


class SlowAsync(Worker[Any]):
    kind = "slow_async"
    timeout = timedelta(milliseconds=100)

    async def work(self, job: WorkJob[Any]) -> None:
        await asyncio.Event().wait()  # blocks until the job is cancelled


release = threading.Event()


class SlowSync(Worker[Any]):
    kind = "slow_sync"
    timeout = timedelta(milliseconds=100)

    def work(self, job: WorkJob[Any]) -> None:
        release.wait(30)


class WaitsForCancel(Worker[Any]):
    kind = "waits"
    timeout = NO_TIMEOUT

    async def work(self, job: WorkJob[Any]) -> None:
        set_metadata("started", True)
        await asyncio.Event().wait()  # blocks until the job is cancelled


class SyncWaitsForCancel(Worker[Any]):
    kind = "sync_waits"
    timeout = NO_TIMEOUT

    def work(self, job: WorkJob[Any]) -> None:
        while not cancellation_requested():
            release.wait(0.01)


class Odd(Worker[Any]):
    kind = "odd"

    async def work(self, job: WorkJob[Any]) -> None:
        mode = job.args["mode"]
        if mode == "interrupt":
            raise KeyboardInterrupt
        if mode == "cancel":
            cancel("not wanted")
        if mode == "discard":
            discard("bad data")

        class Broken(Exception):
            def __str__(self) -> str:
                raise RuntimeError("no")

        raise Broken


class Contract(Worker[Any]):
    kind = "contract"
    contract: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    async def work(self, job: WorkJob[Any]) -> None:
        return None


class Typed(Worker[Any]):
    kind = "typed"

    def decode_args(self, raw: Any) -> int:
        return int(raw["n"])

    async def work(self, job: WorkJob[Any]) -> None:
        return None


async def test_timeouts_cancel_bad_input(conn: psycopg.Connection[Any], db_url: str) -> None:
    release.clear()
    slow_async = insert_jobs(conn, "slow_async", [{}])
    slow_sync = insert_jobs(conn, "slow_sync", [{}])
    odd = insert_jobs(conn, "odd", [{"mode": m} for m in ("interrupt", "cancel", "discard", "broken")])
    contract = insert_jobs(conn, "contract", [{"n": "x"}, {"n": 1}])
    typed = insert_jobs(conn, "typed", [[1, 2], {"n": 3}])
    waits = insert_jobs(conn, "waits", [{}])
    sync_waits = insert_jobs(conn, "sync_waits", [{}])
    conn.execute(
        "UPDATE river_job SET errors = ARRAY['{\"at\": 5}'::jsonb, '\"junk\"'::jsonb] WHERE id = %s", (typed[1],)
    )
    workers = Workers(SlowAsync(), SlowSync(), Odd(), Contract(), Typed(), WaitsForCancel(), SyncWaitsForCancel())
    queues = {
        "default": QueueConfig(
            max_workers=20, fetch_cooldown=timedelta(milliseconds=20), fetch_poll_interval=timedelta(milliseconds=50)
        )
    }
    async with running_runtime(db_url, workers, queues=queues, job_timeout=timedelta(seconds=30)) as runtime:

        async def settled() -> bool:
            return all(job_row(conn, i)["errors"] for i in slow_async) and states(
                conn, odd[1:3] + contract + typed[1:]
            ) == ["cancelled", "discarded", "discarded", "completed", "completed"]

        await await_until(settled, what="timeouts and odd outcomes recorded")
        assert job_row(conn, slow_async[0])["errors"][0]["error"].startswith("job timed out")
        # A def worker past its timeout still runs in its thread, so its row says running.
        assert states(conn, slow_sync) == ["running"]
        release.set()

        async def slow_sync_done() -> bool:
            return states(conn, slow_sync) == ["completed"]

        await await_until(slow_sync_done, what="the def worker to return")
        for job_id in odd[0:1] + odd[3:] + typed[:1]:
            assert job_row(conn, job_id)["errors"], job_id
        assert job_row(conn, odd[0])["errors"][0]["error"] == "KeyboardInterrupt"
        assert job_row(conn, odd[3])["errors"][0]["error"] == "Broken: <str() failed>"
        assert job_row(conn, contract[0])["errors"][0]["error"].startswith(
            "invalid args (contract): of kind 'contract' at JSON pointer '/n'"
        )
        assert job_row(conn, odd[1])["errors"][0]["error"] == "JobCancelError: not wanted"

        # Remote cancel, as JobCancel sends it: metadata flag plus a river_control notification.
        for job_id in waits + sync_waits:
            await await_until(lambda j=job_id: _is_running(conn, j), what="job running")
            conn.execute(
                "UPDATE river_job SET metadata = metadata || jsonb_build_object('cancel_attempted_at', now())"
                " WHERE id = %s",
                (job_id,),
            )
            conn.execute(
                "SELECT pg_notify(current_schema() || '.river_control', json_build_object("
                "'action', 'cancel', 'job_id', %s::bigint, 'queue', 'default')::text)",
                (job_id,),
            )

        async def cancelled() -> bool:
            return states(conn, waits + sync_waits) == ["cancelled", "completed"]

        # The async job is interrupted and ends cancelled; the def worker saw the request
        # and returned normally, so it completes, as River completes a job that returns nil.
        await await_until(cancelled, what="remote cancels")
        row = job_row(conn, waits[0])
        assert row["errors"][0]["error"] == "JobCancelError: job cancelled remotely"
        assert row["metadata"]["started"] is True
        assert runtime.running_count == 0


async def _is_running(conn: psycopg.Connection[Any], job_id: int) -> bool:
    return states(conn, [job_id]) == ["running"]


class KeyErrorWorker(Worker[Any]):
    kind = "raises_key_error"

    async def work(self, job: WorkJob[Any]) -> None:
        raise KeyError("missing")


async def test_a_kind_without_worker_fails_without_running_and_a_users_key_error_is_an_ordinary_failure(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    unknown = insert_jobs(conn, "nobody_works_this", [{}])
    raised = insert_jobs(conn, "raises_key_error", [{}])
    async with running_runtime(db_url, Workers(KeyErrorWorker())):

        async def both_failed() -> bool:
            return all(job_row(conn, j)["errors"] for j in unknown + raised)

        await await_until(both_failed, what="both jobs to fail once")
    unknown_error = job_row(conn, unknown[0])["errors"][0]
    assert unknown_error["error"] == "job kind is not registered in the client's Workers bundle: nobody_works_this"
    assert unknown_error["trace"] == ""
    key_error = job_row(conn, raised[0])["errors"][0]
    assert key_error["error"] == "KeyError: 'missing'"
    assert "raise KeyError" in key_error["trace"]
