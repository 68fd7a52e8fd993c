"""``riverboat bench``: how fast riverboat works jobs on this machine and database.

Burn-down: insert ``jobs`` no-op jobs (COPY), then time from the runtime's start until every
one is finalized. Steady: insert at ``rate`` jobs/s (``insert_many`` every 10 ms) while the
same process works them, for ``duration``; report the throughput, the delay from insert to the
start of work (p50/p95/p99) and the process's peak resident memory.

Both empty ``river_job`` first, so a database that holds jobs is refused unless forced.
Optional seed rows (finalized history, future scheduled jobs) measure fetching at scale.
``VACUUM ANALYZE`` runs once every row of the run is in (seeds and, for a burn-down, its
jobs), right before timing. Besides throughput, a run reports this process's CPU time over
the timed phase and when that phase began and ended (bench/compare reads the database's CPU
time over the same span).
"""

from __future__ import annotations

import asyncio
import math
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from riverboat import AsyncClient
from riverboat._async.admin import job_count_by_state
from riverboat._insert import InsertManyParams
from riverboat._queries import query
from riverboat.args import RawArgs
from riverboat.errors import RiverboatError
from riverboat.job import Job
from riverboat.worker import QueueConfig, Worker, Workers, WorkJob

KIND = "bench"
SEED_KIND = "bench_seed"
QUEUE = "default"
#: Jobs per COPY when filling the table for a burn-down.
INSERT_BATCH = 5_000
#: Steady mode inserts once per tick whatever the rate asks for since the last one.
STEADY_TICK = 0.01
#: How often progress is checked; also the resolution of the end of a burn-down.
POLL_INTERVAL = 0.01
#: A run that starts no job for this long has stalled.
STALL_TIMEOUT = 60.0

Mode = Literal["burndown", "steady"]
#: Told how many more jobs have started since it was last called.
Progress = Callable[[int], None]


class BenchError(RiverboatError):
    """The benchmark cannot run here, or its run went wrong."""


@dataclass(frozen=True)
class BenchSettings:
    """One run. ``jobs`` is the burn-down's size; ``rate`` (jobs/s) and ``duration`` (s) the
    steady load. The queue is worked with ``max_workers`` and the fetch timings given, by
    ``async def`` workers or, with ``sync_workers``, plain ``def`` ones in threads."""

    mode: Mode
    max_workers: int
    fetch_cooldown: timedelta
    fetch_poll_interval: timedelta
    jobs: int = 20_000
    rate: float = 500.0
    duration: float = 20.0
    sync_workers: bool = False
    seed_finalized: int = 0
    seed_scheduled: int = 0


@dataclass(frozen=True)
class Phase:
    """The timed part of a run: its wall seconds, this process's CPU seconds (every thread),
    and when it began and ended (seconds since the epoch)."""

    seconds: float
    cpu_seconds: float
    started_at: float
    ended_at: float


class _Stopwatch:
    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._started_at = time.time()
        self._start = time.perf_counter()

    def stop(self) -> Phase:
        seconds = time.perf_counter() - self._start
        return Phase(seconds, time.process_time() - self._cpu, self._started_at, time.time())


@dataclass(frozen=True)
class BenchResult:
    """What a run measured. Delays (ms) are those of steady mode; ``max_rss_mb`` is the peak
    resident memory of this process."""

    settings: BenchSettings
    jobs: int
    phase: Phase
    max_rss_mb: float
    delay_p50_ms: float | None = None
    delay_p95_ms: float | None = None
    delay_p99_ms: float | None = None

    @property
    def seconds(self) -> float:
        return self.phase.seconds

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.phase.seconds

    @property
    def cpu_us_per_job(self) -> float:
        return 1e6 * self.phase.cpu_seconds / self.jobs

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "mode": s.mode,
            "workers": "sync" if s.sync_workers else "async",
            "max_workers": s.max_workers,
            "fetch_cooldown_ms": s.fetch_cooldown / timedelta(milliseconds=1),
            "fetch_poll_interval_ms": s.fetch_poll_interval / timedelta(milliseconds=1),
            "rate": s.rate if s.mode == "steady" else None,
            "seed_finalized": s.seed_finalized,
            "seed_scheduled": s.seed_scheduled,
            "jobs": self.jobs,
            "seconds": self.seconds,
            "jobs_per_second": self.jobs_per_second,
            "cpu_seconds": self.phase.cpu_seconds,
            "started_at": self.phase.started_at,
            "ended_at": self.phase.ended_at,
            "delay_p50_ms": self.delay_p50_ms,
            "delay_p95_ms": self.delay_p95_ms,
            "delay_p99_ms": self.delay_p99_ms,
            "max_rss_mb": self.max_rss_mb,
        }


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ascending ``ordered`` (which must not be empty)."""
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def max_rss_mb() -> float:
    """Peak resident memory of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Tally:
    """Jobs started so far and, when asked, each one's delay from insert (s); safe to call
    from sync workers' threads."""

    def __init__(self, *, record_delays: bool) -> None:
        self._lock = threading.Lock()
        self._record_delays = record_delays
        self.started = 0
        self.delays: list[float] = []

    def job_started(self, job: Job) -> None:
        delay = (datetime.now(UTC) - job.created_at).total_seconds() if self._record_delays else 0.0
        with self._lock:
            self.started += 1
            if self._record_delays:
                self.delays.append(delay)


class _AsyncNoop(Worker[Any]):
    kind = KIND

    def __init__(self, tally: _Tally) -> None:
        self._tally = tally

    async def work(self, job: WorkJob[Any]) -> None:
        self._tally.job_started(job.row)


class _SyncNoop(Worker[Any]):
    kind = KIND

    def __init__(self, tally: _Tally) -> None:
        self._tally = tally

    def work(self, job: WorkJob[Any]) -> None:
        self._tally.job_started(job.row)


async def run(
    url: str,
    settings: BenchSettings,
    *,
    schema: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> BenchResult:
    """Empty (and seed) the jobs table of ``url``, then run ``settings``."""
    await _prepare(url, settings, schema, force=force)
    report = progress or (lambda _: None)
    if settings.mode == "burndown":
        return await _burndown(url, settings, schema, report)
    return await _steady(url, settings, schema, report)


async def _prepare(url: str, settings: BenchSettings, schema: str | None, *, force: bool) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        try:
            row = await (await conn.execute(query("bench_job_any", schema))).fetchone()
        except psycopg.errors.UndefinedTable:
            raise BenchError("the database has no river_job table: migrate it first (riverboat migrate up)") from None
        if row is not None and row[0] and not force:
            raise BenchError("the database holds jobs and the benchmark empties river_job: pass --force to allow it")
        await conn.execute(query("bench_truncate", schema))
        seed = {"kind": SEED_KIND, "queue": QUEUE}
        if settings.seed_finalized:
            await conn.execute(query("bench_seed_finalized", schema), {**seed, "count": settings.seed_finalized})
        if settings.seed_scheduled:
            await conn.execute(query("bench_seed_scheduled", schema), {**seed, "count": settings.seed_scheduled})


async def _vacuum(url: str, schema: str | None) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(query("bench_vacuum_analyze", schema))


def _runtime(
    pool: AsyncConnectionPool[Any], url: str, settings: BenchSettings, schema: str | None, tally: _Tally
) -> AsyncClient:
    worker = _SyncNoop(tally) if settings.sync_workers else _AsyncNoop(tally)
    config = QueueConfig(
        max_workers=settings.max_workers,
        fetch_cooldown=settings.fetch_cooldown,
        fetch_poll_interval=settings.fetch_poll_interval,
    )
    return AsyncClient(pool, schema=schema, queues={QUEUE: config}, workers=Workers(worker), leader_election=False)


def _pool(url: str) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(url, min_size=4, max_size=8, open=False, kwargs={"autocommit": True})


def _jobs(first: int, count: int) -> list[InsertManyParams]:
    return [InsertManyParams(RawArgs(KIND, {"n": n})) for n in range(first, first + count)]


async def _wait_started(tally: _Tally, target: int, report: Progress, reported: int) -> int:
    """Wait until ``target`` jobs have started, reporting progress; returns the count reported."""
    last_change = time.monotonic()
    while True:
        started = tally.started
        if started > reported:
            report(started - reported)
            reported = started
            last_change = time.monotonic()
        if started >= target:
            return reported
        if time.monotonic() - last_change > STALL_TIMEOUT:
            raise BenchError(f"stalled: {started} of {target} jobs started")
        await asyncio.sleep(POLL_INTERVAL)


async def _burndown(url: str, settings: BenchSettings, schema: str | None, report: Progress) -> BenchResult:
    async with AsyncClient(url, schema=schema) as client:
        for first in range(0, settings.jobs, INSERT_BATCH):
            await client.insert_many_fast(_jobs(first, min(INSERT_BATCH, settings.jobs - first)))
    await _vacuum(url, schema)
    tally = _Tally(record_delays=False)
    unfinished = query("bench_job_unfinished_exists", schema)
    async with (
        _pool(url) as pool,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher,
    ):
        await pool.wait()
        runtime = _runtime(pool, url, settings, schema, tally)
        watch = _Stopwatch()
        await runtime.start()
        await _wait_started(tally, settings.jobs, report, 0)
        # Every job has started; the run ends when the completer has written the last of them.
        while True:
            row = await (await watcher.execute(unfinished, {"queue": QUEUE})).fetchone()
            if row is None or not row[0]:
                break
            await asyncio.sleep(POLL_INTERVAL / 2)
        phase = watch.stop()
        await runtime.stop()
        await _check_all_completed(watcher, schema, settings.jobs)
    return BenchResult(settings=settings, jobs=settings.jobs, phase=phase, max_rss_mb=max_rss_mb())


async def _steady(url: str, settings: BenchSettings, schema: str | None, report: Progress) -> BenchResult:
    total = round(settings.rate * settings.duration)
    tally = _Tally(record_delays=True)
    loop = asyncio.get_running_loop()
    await _vacuum(url, schema)
    async with _pool(url) as pool, AsyncClient(url, schema=schema) as client:
        runtime = _runtime(pool, url, settings, schema, tally)
        await runtime.start()
        watch = _Stopwatch()
        t0 = loop.time()
        inserted = reported = 0
        tick = 0
        while inserted < total:
            tick += 1
            await asyncio.sleep(max(0.0, t0 + tick * STEADY_TICK - loop.time()))
            due = min(total, int(settings.rate * (loop.time() - t0)))
            if due > inserted:
                await client.insert_many(_jobs(inserted, due - inserted))
                inserted = due
            started = tally.started
            report(started - reported)
            reported = started
        await _wait_started(tally, total, report, reported)
        phase = watch.stop()
        await runtime.stop()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await _check_all_completed(conn, schema, total)
    delays = sorted(tally.delays)
    return BenchResult(
        settings=settings,
        jobs=total,
        phase=phase,
        max_rss_mb=max_rss_mb(),
        delay_p50_ms=1000 * percentile(delays, 50),
        delay_p95_ms=1000 * percentile(delays, 95),
        delay_p99_ms=1000 * percentile(delays, 99),
    )


async def _check_all_completed(conn: psycopg.AsyncConnection[Any], schema: str | None, jobs: int) -> None:
    by_state = await job_count_by_state(conn, schema, kinds=[KIND])
    counts = {state.value: count for state, count in by_state.items() if count}
    if counts != {"completed": jobs}:
        raise BenchError(f"expected {jobs} completed jobs, found {counts}")
