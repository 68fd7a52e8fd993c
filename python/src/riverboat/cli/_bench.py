"""``riverboat bench``: burn-down and steady-load benchmarks of the worker, on a private
database by default (see ``riverboat._bench``)."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path

import click
import psycopg

from riverboat._bench import BenchResult, BenchSettings, Mode, run
from riverboat._working import freeze_startup_objects
from riverboat.cli._admin_common import echo_json, echo_table, json_option
from riverboat.devdb import DevDatabase
from riverboat.errors import RiverboatError
from riverboat.migrate import Migrator

#: Per mode: max workers, fetch cooldown (ms), fetch poll interval (ms). Burn-down uses the
#: settings River's own bench uses for throughput; steady uses River's defaults, as an
#: application would run.
MODE_DEFAULTS: dict[str, tuple[int, float, float]] = {
    "burndown": (1_000, 2.0, 20.0),
    "steady": (100, 100.0, 1_000.0),
}


@contextmanager
def _private_database() -> Iterator[str]:
    """A throwaway cluster, migrated, deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="riverboat-bench-"))
    # The server may run as another user (when we are root), who must reach the directory.
    directory.chmod(0o755)
    server = DevDatabase(directory / "db")
    try:
        url = server.start()
        migrator = Migrator(url)
        for line in migrator.lines():
            migrator.up(line=line)
        yield url
    finally:
        server.destroy()
        shutil.rmtree(directory, ignore_errors=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _echo_result(result: BenchResult) -> None:
    s = result.settings
    echo_table(
        [
            "mode",
            "workers",
            "max workers",
            "seeded",
            "jobs",
            "seconds",
            "jobs/s",
            "cpu/job usec",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max rss mb",
        ],
        [
            [
                s.mode if s.mode == "burndown" else f"steady @ {s.rate:,.0f}/s",
                "sync" if s.sync_workers else "async",
                s.max_workers,
                f"{s.seed_finalized:,} finalized, {s.seed_scheduled:,} scheduled",
                f"{result.jobs:,}",
                f"{result.seconds:.2f}",
                f"{result.jobs_per_second:,.0f}",
                f"{result.cpu_us_per_job:,.1f}",
                _ms(result.delay_p50_ms),
                _ms(result.delay_p95_ms),
                _ms(result.delay_p99_ms),
                f"{result.max_rss_mb:.1f}",
            ]
        ],
    )


@click.command("bench")
@click.option(
    "--mode",
    type=click.Choice(["burndown", "steady"]),
    default="burndown",
    show_default=True,
    help="burndown: insert --jobs, then work them all; steady: insert at --rate while working, for --duration.",
)
@click.option("--jobs", type=click.IntRange(min=1), default=20_000, show_default=True, help="Burn-down size.")
@click.option(
    "--rate", type=click.FloatRange(min=1), default=500.0, show_default=True, help="Steady: jobs inserted per second."
)
@click.option(
    "--duration", type=click.FloatRange(min=0.1), default=20.0, show_default=True, help="Steady: seconds of inserting."
)
@click.option(
    "--max-workers",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Jobs worked at once [default: 1000 burn-down, 100 steady].",
)
@click.option(
    "--fetch-cooldown",
    type=click.FloatRange(min=1),
    default=None,
    help="Milliseconds between fetches, at least [default: 2 burn-down, 100 steady].",
)
@click.option(
    "--fetch-poll-interval",
    type=click.FloatRange(min=1),
    default=None,
    help="Milliseconds between polls without notifications [default: 20 burn-down, 1000 steady].",
)
@click.option("--sync-workers", is_flag=True, help="Work with a plain `def` worker (thread pool), not `async def`.")
@click.option(
    "--seed-finalized",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Completed jobs of another kind to add first (fetching past a long history).",
)
@click.option(
    "--seed-scheduled",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Jobs of another kind scheduled a day ahead to add first.",
)
@click.option(
    "--database-url",
    default=None,
    help="A migrated database to use instead of a private throwaway one. Its jobs are deleted.",
)
@click.option("--schema", default=None, help="Schema of River's tables in --database-url (default: search_path).")
@click.option("--force", is_flag=True, help="Run even though the database holds jobs (they are deleted).")
@json_option
def bench(
    *,
    mode: Mode,
    jobs: int,
    rate: float,
    duration: float,
    max_workers: int | None,
    fetch_cooldown: float | None,
    fetch_poll_interval: float | None,
    sync_workers: bool,
    seed_finalized: int,
    seed_scheduled: int,
    database_url: str | None,
    schema: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Measure how fast riverboat works no-op jobs: a progress bar while it runs, a table at the end."""
    if schema is not None and database_url is None:
        raise click.UsageError("--schema needs --database-url (the private database uses the default schema)")
    default_workers, default_cooldown, default_poll = MODE_DEFAULTS[mode]
    settings = BenchSettings(
        mode=mode,
        jobs=jobs,
        rate=rate,
        duration=duration,
        max_workers=max_workers or default_workers,
        fetch_cooldown=timedelta(milliseconds=fetch_cooldown or default_cooldown),
        fetch_poll_interval=timedelta(milliseconds=fetch_poll_interval or default_poll),
        sync_workers=sync_workers,
        seed_finalized=seed_finalized,
        seed_scheduled=seed_scheduled,
    )
    expected = jobs if mode == "burndown" else round(rate * duration)
    database: AbstractContextManager[str] = _private_database() if database_url is None else nullcontext(database_url)
    with database as url:
        bar = click.progressbar(length=expected, label=f"riverboat bench {mode}", file=sys.stderr)
        # Measured as `riverboat work` runs: startup objects kept out of garbage collection.
        freeze_startup_objects()
        with bar:
            try:
                result = asyncio.run(run(url, settings, schema=schema, force=force, progress=bar.update))
            except psycopg.Error as exc:
                raise RiverboatError(f"database error: {exc}".strip()) from exc
    if as_json:
        echo_json(result.as_dict())
    else:
        _echo_result(result)
