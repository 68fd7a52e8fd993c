"""Rows another writer left odd never strand a job or a queue (spec/07-complete.md#odd-rows):
metadata that is not an object, args stored as a JSON string, a job at the largest attempt."""

from __future__ import annotations

import asyncio
import gc
import json
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat._sync import admin as sync_admin
from riverboat.errors import ValidationError
from riverboat.worker import Worker, Workers, WorkJob, cancel, snooze
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, running_runtime

#: metadata as JSON text: an array, a number, a string, and the two that `?` mistakes for a cancel.
ODD_METADATA = ["[1]", "7", '"text"', '["cancel_attempted_at"]', '"cancel_attempted_at"']


class Completes(Worker[dict[str, Any]]):
    kind = "odd_ok"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        return None


class Snoozes(Worker[dict[str, Any]]):
    kind = "odd_snooze"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        snooze(timedelta(minutes=10))


class Cancels(Worker[dict[str, Any]]):
    kind = "odd_cancel"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        cancel("gave up")


class Fails(Worker[dict[str, Any]]):
    kind = "odd_fail"

    def work(self, job: WorkJob[dict[str, Any]]) -> None:
        raise ValueError("boom")


WORKERS = Workers(Completes(), Snoozes(), Cancels(), Fails())


def insert_with_metadata(conn: psycopg.Connection[Any], kind: str, metadata: str, max_attempts: int) -> int:
    [job_id] = insert_jobs(conn, kind, [{}], max_attempts=max_attempts)
    conn.execute("UPDATE river_job SET metadata = %s::jsonb WHERE id = %s", (metadata, job_id))
    return job_id


async def first_failure(conn: psycopg.Connection[Any], db_url: str, job_id: int) -> dict[str, Any]:
    """The row once a runtime has recorded the job's first error (and stopped)."""
    async with running_runtime(db_url, WORKERS):

        async def failed() -> bool:
            return bool(job_row(conn, job_id)["errors"])

        await await_until(failed, what="the failure is recorded")
    return job_row(conn, job_id)


def collect_loop_errors() -> list[dict[str, Any]]:
    """Whatever the loop reports (e.g. "Task exception was never retrieved")."""
    seen: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: seen.append(context))
    return seen


async def test_outcomes_on_jobs_whose_metadata_is_not_an_object(conn: psycopg.Connection[Any], db_url: str) -> None:
    lost = collect_loop_errors()
    jobs = {
        (kind, metadata): insert_with_metadata(conn, kind, metadata, max_attempts=1)
        for kind in ("odd_ok", "odd_snooze", "odd_cancel", "odd_fail")
        for metadata in ODD_METADATA
    }
    expected = {"odd_ok": "completed", "odd_snooze": "scheduled", "odd_cancel": "cancelled", "odd_fail": "discarded"}
    async with running_runtime(db_url, WORKERS):

        async def all_ended() -> bool:
            return all(job_row(conn, i)["state"] == expected[kind] for (kind, _), i in jobs.items())

        await await_until(all_ended, timeout=30, what="every odd-metadata job reached its outcome")
    for (kind, metadata), job_id in jobs.items():
        row = job_row(conn, job_id)
        stored = json.loads(metadata)
        if kind == "odd_snooze":
            # River merges with `||`: a non-object becomes an array holding the update.
            assert row["metadata"] == [*(stored if isinstance(stored, list) else [stored]), {"snoozes": 1}]
            assert row["attempt"] == 0
        else:
            assert row["metadata"] == stored, (kind, metadata)
        if kind == "odd_cancel":
            assert row["errors"][0]["error"] == "JobCancelError: gave up"
        if kind == "odd_fail":
            assert row["errors"][0]["error"] == "ValueError: boom"
    gc.collect()
    assert lost == []


@pytest.mark.parametrize("metadata", ['["cancel_attempted_at"]', '"cancel_attempted_at"'])
async def test_a_cancel_key_outside_an_object_does_not_turn_a_failure_into_a_cancel(
    conn: psycopg.Connection[Any], db_url: str, metadata: str
) -> None:
    job_id = insert_with_metadata(conn, "odd_fail", metadata, max_attempts=25)
    row = await first_failure(conn, db_url, job_id)
    assert row["state"] in ("available", "retryable")
    assert row["finalized_at"] is None
    assert row["errors"][0]["error"] == "ValueError: boom"


async def test_args_stored_as_a_json_string_fail_and_are_retried(conn: psycopg.Connection[Any], db_url: str) -> None:
    lost = collect_loop_errors()
    [job_id] = insert_jobs(conn, "odd_ok", [{}], max_attempts=25)
    # A string that looks like an object: decoding it twice would run the job with {"n": 1}.
    conn.execute("UPDATE river_job SET args = %s::jsonb WHERE id = %s", (json.dumps('{"n": 1}'), job_id))
    row = await first_failure(conn, db_url, job_id)
    assert row["state"] in ("available", "retryable")
    assert row["errors"][0]["attempt"] == 1
    assert "must be a JSON object, not a JSON string" in row["errors"][0]["error"]
    gc.collect()
    assert lost == []


@pytest.mark.parametrize("max_attempts", [32767, 5])
def test_retry_never_makes_a_job_at_the_largest_attempt_available(
    conn: psycopg.Connection[Any], max_attempts: int
) -> None:
    # River Go's retry would make it available (or fail on max_attempts + 1), and every
    # fetch of its queue would then fail on attempt + 1: riverboat refuses instead.
    [job_id] = insert_jobs(conn, "odd_ok", [{}], max_attempts=max_attempts)
    conn.execute(
        "UPDATE river_job SET state = 'discarded', attempt = 32767, finalized_at = now() WHERE id = %s", (job_id,)
    )
    with pytest.raises(ValidationError) as caught:
        sync_admin.job_retry(conn, None, job_id)
    assert (caught.value.field, caught.value.rule) == ("attempt", "range")
    row = job_row(conn, job_id)
    assert (row["state"], row["attempt"], row["max_attempts"]) == ("discarded", 32767, max_attempts)
