from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._complete import BatchCompleter
from riverboat._completion import Completion, is_plain_completion, set_completed_params, set_state_params
from riverboat._execute import Failure, Snoozed, Success, decide
from riverboat._queries import query
from riverboat.job import AttemptError, Job
from tests.helpers import await_until
from tests.worker_support import insert_jobs, job_row, states

NOW = datetime.now(UTC)


def completion(job_id: int, outcome: Any, attempt: int = 1, max_attempts: int = 25) -> Completion:
    return decide(
        job_id=job_id,
        attempt=attempt,
        max_attempts=max_attempts,
        metadata={},
        outcome=outcome,
        metadata_updates={"note": job_id},
        duration=timedelta(0),
        now=NOW,
    )


async def test_batch_rules(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "k", [{}] * 6, state="running")
    not_running = insert_jobs(conn, "k", [{}], state="available")
    conn.execute("UPDATE river_job SET attempt = 1")
    conn.execute(
        'UPDATE river_job SET metadata = \'{"cancel_attempted_at": "2026-01-01T00:00:00Z"}\' WHERE id = ANY(%s)',
        (ids[3:5],),
    )
    err = AttemptError(at=NOW, attempt=1, error="e", trace="")
    later = NOW + timedelta(minutes=5)
    batch = [
        completion(ids[0], Success()),
        completion(ids[1], Failure(err, later)),
        completion(ids[2], Failure(err, later), attempt=1, max_attempts=1),
        completion(ids[3], Failure(err, later)),
        completion(ids[4], Snoozed(timedelta(minutes=5))),
        completion(ids[5], Snoozed(timedelta(seconds=1))),
        completion(not_running[0], Success()),
    ]
    seen: list[tuple[Completion, Job]] = []
    async with AsyncConnectionPool(db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}) as pool:
        completer = BatchCompleter(pool=pool, schema=None, on_completed=lambda c, j: seen.append((c, j)))
        await completer.start()
        for c in batch:
            completer.add(c)
        await completer.stop()
    rows = [job_row(conn, i) for i in [*ids, *not_running]]
    assert [r["state"] for r in rows] == [
        "completed",
        "retryable",
        "discarded",
        "cancelled",
        "cancelled",
        "available",
        "available",
    ]
    for r in rows:
        assert (r["finalized_at"] is not None) == (r["state"] in ("completed", "cancelled", "discarded"))
    assert rows[1]["scheduled_at"] == later
    assert len(rows[3]["errors"]) == 1
    assert rows[3]["attempt"] == 1
    assert rows[4]["attempt"] == 1
    assert rows[5]["attempt"] == 0
    assert rows[5]["metadata"]["snoozes"] == 1
    assert rows[6]["metadata"] == {"note": not_running[0]}
    assert rows[6]["finalized_at"] is None
    assert len(seen) == 7


async def test_completion_survives_database_outage(
    conn: psycopg.Connection[Any], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = insert_jobs(conn, "k", [{}], state="running")
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True, "options": "-c statement_timeout=200"}
    ) as pool:
        completer = BatchCompleter(pool=pool, schema=None)
        with psycopg.connect(db_url) as locker:
            locker.execute("LOCK TABLE river_job IN ACCESS EXCLUSIVE MODE")
            await completer.start()
            completer.add(completion(ids[0], Success()))
            # The write times out under the lock (statement_timeout) and is retried, not dropped.
            await await_until(lambda: _failed_once(caplog), what="a failed write")
        await completer.stop()
    assert job_row(conn, ids[0])["state"] == "completed"


async def _failed_once(caplog: pytest.LogCaptureFixture) -> bool:
    return any("retrying" in r.getMessage() for r in caplog.records)


REFUSE_ONE = """
CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'running' AND NEW.state <> 'running' AND NEW.id = %s THEN
        RAISE EXCEPTION 'outcome of job % refused', NEW.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_outcome BEFORE UPDATE ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_outcome();
"""


async def test_an_outcome_the_database_refuses_holds_back_no_other(
    conn: psycopg.Connection[Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("riverboat._complete.REFUSED_RETRY_START", 0.05)
    ids = insert_jobs(conn, "k", [{}] * 5, state="running")
    conn.execute("UPDATE river_job SET attempt = 1")
    conn.execute(REFUSE_ONE.replace("%s", str(ids[2])))
    async with AsyncConnectionPool(db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}) as pool:
        completer = BatchCompleter(pool=pool, schema=None)
        await completer.start()
        for job_id in ids:
            completer.add(completion(job_id, Success()))

        async def others_written() -> bool:
            return states(conn, ids) == ["completed", "completed", "running", "completed", "completed"]

        await await_until(others_written, what="every outcome but the refused one")
        conn.execute("DROP TRIGGER refuse_outcome ON river_job")

        async def all_written() -> bool:
            return states(conn, ids) == ["completed"] * 5

        await await_until(all_written, what="the refused outcome, once accepted")
        await completer.stop()


def test_a_retried_outcome_never_reaches_a_later_attempt(conn: psycopg.Connection[Any]) -> None:
    (job_id,) = insert_jobs(conn, "k", [{}])
    statement = query("job_set_state_if_running_many", None)
    first = fetch_one(conn)
    error = AttemptError(at=NOW, attempt=1, error="e", trace="")
    # Attempt 1 fails and is retried soon; its write commits, but say its answer was lost.
    outcome = set_state_params(
        [completion(job_id, Failure(error, NOW))], read_rows=False, attempted_at=[first["attempted_at"]]
    )
    conn.execute(statement, outcome)
    second = fetch_one(conn)
    assert second["attempt"] == 2
    # The completer writes attempt 1's outcome again: attempt 2, running, is untouched.
    conn.execute(statement, outcome)
    row = job_row(conn, job_id)
    assert (row["state"], row["attempt"], len(row["errors"]), row["metadata"]) == ("running", 2, 1, {"note": job_id})


def fetch_one(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(
        query("job_get_available", None), {"queue": "default", "max_to_lock": 1, "client_id": "me"}
    ).fetchone()
    assert row is not None
    return row


#: Rows a plain completion may meet, as (state, attempted_at offset from the outcome's, metadata).
PLAIN_COMPLETION_ROWS = [
    ("running", timedelta(0), {}),
    ("running", timedelta(seconds=5), {}),  # fetched again since: a later attempt
    ("running", timedelta(0), {"cancel_attempted_at": "2026-01-01T00:00:00Z"}),
    ("completed", timedelta(0), {}),  # completed in the worker's own transaction
    ("cancelled", timedelta(0), {}),
    ("available", timedelta(0), {}),
]


def test_plain_completions_change_rows_as_the_completion_statement_does(conn: psycopg.Connection[Any]) -> None:
    """``job_set_completed_many`` is a shortcut for plain completions: from identical rows, it
    leaves each exactly as ``job_set_state_if_running_many`` does."""
    attempted_at = NOW - timedelta(minutes=1)
    columns = "state::text, attempt, errors, finalized_at, scheduled_at, metadata, attempted_at, attempted_by"
    results = {}
    for statement, params in (
        ("job_set_state_if_running_many", lambda batch, at: set_state_params(batch, read_rows=False, attempted_at=at)),
        ("job_set_completed_many", set_completed_params),
    ):
        ids = []
        for state, offset, metadata in PLAIN_COMPLETION_ROWS:
            (job_id,) = insert_jobs(conn, "k", [{}], state="running", metadata=metadata)
            conn.execute(
                "UPDATE river_job SET state = %(state)s::river_job_state, attempt = 1, attempted_at = %(at)s,"
                " scheduled_at = %(finalized_at)s, attempted_by = '{me}',"
                " finalized_at = CASE WHEN %(state)s IN ('completed', 'cancelled')"
                " THEN %(finalized_at)s::timestamptz END"
                " WHERE id = %(id)s",
                {"state": state, "at": attempted_at + offset, "finalized_at": attempted_at, "id": job_id},
            )
            ids.append(job_id)
        batch = [completion(job_id, Success()) for job_id in ids]
        batch = [c._replace(metadata_updates=None) for c in batch]
        assert all(is_plain_completion(c) for c in batch)
        conn.execute(query(statement, None), params(batch, [attempted_at] * len(batch)))
        results[statement] = [
            conn.execute(f"SELECT {columns} FROM river_job WHERE id = %s", (job_id,)).fetchone() for job_id in ids
        ]
    full, plain = results.values()
    assert plain == full
    assert [row[0] for row in plain] == ["completed", "running", "completed", "completed", "cancelled", "available"]


def test_only_plain_completions_are_plain() -> None:
    err = AttemptError(at=NOW, attempt=1, error="e", trace="")
    plain = completion(1, Success())._replace(metadata_updates=None)
    assert is_plain_completion(plain)
    assert not is_plain_completion(completion(1, Success()))  # metadata to merge
    assert not is_plain_completion(completion(1, Failure(err, NOW)))
    assert not is_plain_completion(completion(1, Snoozed(timedelta(seconds=1))))
