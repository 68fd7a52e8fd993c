"""A model of the job lifecycle (spec/02-lifecycle.md#transitions) against the real tables.

Hypothesis drives random sequences of insert, fetch, complete, error, snooze, cancel (of
queued and of running jobs), retry, rescue, delete and the scheduler, each through
riverboat's own statements and functions (the named queries, ``decide`` and the
completion statement as the completer sends them, the admin functions, the rescuer and
the scheduler). A plain model predicts each step by River's rules; after every step every
row must agree with it. It also sends outcomes late, after their job moved on, as a
completer retrying a write that did commit would: those must change nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg.rows import dict_row

from riverboat import Client, InsertOpts, RawArgs
from riverboat._completion import set_state_params
from riverboat._execute import Failure, Snoozed, Success, decide
from riverboat._maintenance.job_rescuer import JobRescuer, JobRescuerConfig
from riverboat._maintenance.job_scheduler import JobScheduler
from riverboat._queries import query
from riverboat._service import connect_each_time
from riverboat._sync import admin
from riverboat.errors import JobRunningError
from riverboat.job import AttemptError

FINAL = ("completed", "cancelled", "discarded")
DAY = timedelta(days=1)
#: The worker's clock in outcomes: a day behind the database, so a short retry or snooze
#: lands in the past (due) and a long one a day ahead of the database (not due).
WORKER_NOW = datetime.now(UTC) - DAY
SHORT = timedelta(seconds=1)
LONG = 2 * DAY
WHEN = st.sampled_from(["now", "past", "future"])
PRIORITY = st.integers(1, 3)
MAX_ATTEMPTS = st.integers(1, 3)


@dataclass
class ModelJob:
    state: str
    attempt: int
    max_attempts: int
    priority: int
    scheduled_at: datetime
    errors: int = 0
    cancel_requested: bool = False
    snoozes: int = 0
    rescues: int = 0
    #: attempted_at of each fetch, newest last (a late outcome names an older one).
    fetches: list[datetime] = field(default_factory=list)

    def due(self, db_now: datetime) -> bool:
        return self.state == "available" and self.scheduled_at <= db_now


class Lifecycle(RuleBasedStateMachine):
    # One database, connection, client and event loop for every example (set by the test).
    url: str
    conn: psycopg.Connection[Any]
    client: Client
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.conn.execute("TRUNCATE river_job")
        self.jobs: dict[int, ModelJob] = {}

    job_ids = Bundle("job_ids")

    # -- helpers -----------------------------------------------------------------------

    def db_now(self) -> datetime:
        row = self.conn.execute("SELECT now()").fetchone()
        assert row is not None
        value: datetime = row[0]
        return value

    def running(self) -> list[int]:
        return [i for i, j in self.jobs.items() if j.state == "running"]

    def write_outcome(self, job_id: int, outcome: Any, attempted_at: datetime) -> None:
        job = self.jobs[job_id]
        completion = decide(
            job_id=job_id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            metadata={"snoozes": job.snoozes} if job.snoozes else {},
            outcome=outcome,
            metadata_updates={},
            duration=timedelta(0),
            now=WORKER_NOW,
        )
        self.conn.execute(
            query("job_set_state_if_running_many", None),
            set_state_params([completion], read_rows=False, attempted_at=[attempted_at]),
        )

    def over(self) -> list[tuple[int, datetime]]:
        """(job, attempted_at) of every attempt that is over."""
        return [
            (job_id, at)
            for job_id, job in self.jobs.items()
            for at in job.fetches
            if job.state != "running" or at != job.fetches[-1]
        ]

    # -- rules ---------------------------------------------------------------------------

    @initialize(target=job_ids, jobs=st.lists(st.tuples(WHEN, PRIORITY, MAX_ATTEMPTS), min_size=2, max_size=6))
    def insert_some(self, jobs: list[tuple[str, int, int]]) -> Any:
        return multiple(*(self.insert(*job) for job in jobs))

    @rule(target=job_ids, when=WHEN, priority=PRIORITY, max_attempts=MAX_ATTEMPTS)
    def insert(self, when: str, priority: int, max_attempts: int) -> int:
        scheduled = {"now": None, "past": WORKER_NOW, "future": datetime.now(UTC) + DAY}[when]
        opts = InsertOpts(priority=priority, max_attempts=max_attempts, scheduled_at=scheduled)
        job = self.client.insert(RawArgs("model", {}), opts).job
        # A time given, even a past one, makes the job scheduled (spec/02-lifecycle.md#initial-state).
        self.jobs[job.id] = ModelJob(
            state="available" if scheduled is None else "scheduled",
            attempt=0,
            max_attempts=max_attempts,
            priority=priority,
            scheduled_at=job.scheduled_at,
        )
        return job.id

    @rule(limit=st.sampled_from([1, 2, 100]))
    def fetch(self, limit: int) -> None:
        db_now = self.db_now()
        due = sorted(
            (i for i, j in self.jobs.items() if j.due(db_now)),
            key=lambda i: (self.jobs[i].priority, self.jobs[i].scheduled_at, i),
        )
        cur = self.conn.cursor(row_factory=dict_row)
        rows = cur.execute(
            query("job_get_available", None), {"queue": "default", "max_to_lock": limit, "client_id": "model"}
        ).fetchall()
        assert sorted(r["id"] for r in rows) == sorted(due[:limit])
        for row in rows:
            job = self.jobs[row["id"]]
            job.state = "running"
            job.attempt += 1
            job.fetches.append(row["attempted_at"])

    @precondition(lambda self: self.running())
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(self.running()))
        job = self.jobs[job_id]
        self.write_outcome(job_id, Success(), job.fetches[-1])
        job.state = "completed"

    @precondition(lambda self: self.running())
    @rule(data=st.data(), later=st.sampled_from([SHORT, LONG]))
    def error(self, data: st.DataObject, later: timedelta) -> None:
        job_id = data.draw(st.sampled_from(self.running()))
        job = self.jobs[job_id]
        error = AttemptError(at=WORKER_NOW, attempt=job.attempt, error="model error", trace="")
        self.write_outcome(job_id, Failure(error, WORKER_NOW + later), job.fetches[-1])
        job.errors += 1
        if job.attempt >= job.max_attempts:
            job.state = "discarded"
        elif job.cancel_requested:
            job.state = "cancelled"  # a retry of a job asked to cancel ends it (River's rule)
        else:
            job.state = "available" if later <= timedelta(seconds=5) else "retryable"
            job.scheduled_at = WORKER_NOW + later

    @precondition(lambda self: self.running())
    @rule(data=st.data(), duration=st.sampled_from([SHORT, LONG]))
    def snooze(self, data: st.DataObject, duration: timedelta) -> None:
        job_id = data.draw(st.sampled_from(self.running()))
        job = self.jobs[job_id]
        self.write_outcome(job_id, Snoozed(duration), job.fetches[-1])
        job.snoozes += 1
        if job.cancel_requested:
            job.state = "cancelled"
        else:
            job.state = "available" if duration <= timedelta(seconds=5) else "scheduled"
            job.attempt = max(job.attempt - 1, 0)
            job.scheduled_at = WORKER_NOW + duration

    @precondition(lambda self: self.over())
    @rule(data=st.data())
    def late_outcome(self, data: st.DataObject) -> None:
        """An outcome of an attempt that is over, as a completer retrying a write that did
        commit would send it: nothing may change."""
        job_id, attempted_at = data.draw(st.sampled_from(self.over()))
        job = self.jobs[job_id]
        if attempted_at == job.fetches[-1]:
            # The same attempt, no longer running: River leaves the row alone (but merges
            # metadata updates, of which a success has none).
            self.write_outcome(job_id, Success(), attempted_at)
        else:
            # An earlier attempt: not even its metadata updates (a snooze's count) apply.
            self.write_outcome(job_id, Snoozed(SHORT), attempted_at)

    @rule(job_id=job_ids)
    def cancel(self, job_id: int) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        admin.job_cancel(self.conn, None, job_id)
        if job.state == "running":
            job.cancel_requested = True
        elif job.state not in FINAL:
            job.state = "cancelled"
            job.cancel_requested = True

    @rule(job_id=job_ids)
    def retry(self, job_id: int) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        db_now = self.db_now()
        row = admin.job_retry(self.conn, None, job_id)
        if job.state == "running" or job.due(db_now):
            return
        if job.attempt == job.max_attempts:
            job.max_attempts += 1
        job.state = "available"
        job.cancel_requested = False
        job.scheduled_at = row.scheduled_at

    @rule(to_retry=st.sampled_from([SHORT, LONG]))
    def rescue(self, to_retry: timedelta) -> None:
        rescuer = JobRescuer(
            connect=connect_each_time(self.url),
            next_retry=lambda job: WORKER_NOW + to_retry,
            config=JobRescuerConfig(rescue_stuck_jobs_after=timedelta(hours=1)),
            clock=lambda: datetime.now(UTC) + timedelta(hours=2),
        )
        self.loop.run_until_complete(rescuer.run_once())
        for job in self.jobs.values():
            if job.state != "running":
                continue
            job.errors += 1
            job.rescues += 1
            if job.cancel_requested:
                job.state = "cancelled"
            elif job.attempt < job.max_attempts:
                job.state = "retryable"
                job.scheduled_at = WORKER_NOW + to_retry
            else:
                job.state = "discarded"

    @rule(job_id=consumes(job_ids))
    def delete(self, job_id: int) -> None:
        job = self.jobs[job_id]
        if job.state == "running":
            with pytest.raises(JobRunningError):
                admin.job_delete(self.conn, None, job_id)
            return
        admin.job_delete(self.conn, None, job_id)
        del self.jobs[job_id]

    @rule(far_ahead=st.booleans())
    def schedule(self, far_ahead: bool) -> None:
        ahead = 3 * DAY if far_ahead else timedelta(0)
        scheduler = JobScheduler(connect=connect_each_time(self.url), clock=lambda: datetime.now(UTC) + ahead)
        self.loop.run_until_complete(scheduler.run_once())
        horizon = datetime.now(UTC) + ahead + scheduler.interval
        for job in self.jobs.values():
            if job.state in ("scheduled", "retryable") and job.scheduled_at <= horizon:
                job.state = "available"

    # -- the check -----------------------------------------------------------------------

    @invariant()
    def rows_agree_with_the_model(self) -> None:
        rows = {
            r["id"]: r
            for r in self.conn.cursor(row_factory=dict_row).execute(
                "SELECT id, state::text, attempt, max_attempts, scheduled_at, finalized_at,"
                " coalesce(cardinality(errors), 0) AS errors, metadata FROM river_job"
            )
        }
        assert set(rows) == set(self.jobs)
        for job_id, job in self.jobs.items():
            row = rows[job_id]
            metadata = row["metadata"]
            seen = (
                row["state"],
                row["attempt"],
                row["max_attempts"],
                row["errors"],
                row["finalized_at"] is not None,
                "cancel_attempted_at" in metadata,
                metadata.get("snoozes", 0),
                metadata.get("river:rescue_count", 0),
            )
            expected = (
                job.state,
                job.attempt,
                job.max_attempts,
                job.errors,
                job.state in FINAL,
                job.cancel_requested,
                job.snoozes,
                job.rescues,
            )
            assert seen == expected, f"job {job_id}: row {seen} != model {expected}"
            if job.state in ("available", "scheduled", "retryable"):
                assert row["scheduled_at"] == job.scheduled_at, f"job {job_id}: scheduled_at"


def test_the_lifecycle_follows_rivers_rules(db_url: str) -> None:
    Lifecycle.url = db_url
    with psycopg.connect(db_url, autocommit=True) as conn, Client(db_url) as client:
        Lifecycle.conn, Lifecycle.client, Lifecycle.loop = conn, client, asyncio.new_event_loop()
        try:
            run_state_machine_as_test(
                Lifecycle,
                settings=settings(
                    max_examples=60,
                    stateful_step_count=50,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                    derandomize=True,
                ),
            )
        finally:
            Lifecycle.loop.close()
