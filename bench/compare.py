"""riverboat side by side with River Go, the raw-SQL limit, PGQueuer and Procrastinate. Not a test.

Run through ``bench/compare`` (which installs the peers and builds the Go program). Starts
two private PostgreSQL clusters, one with PostgreSQL's default durability (fsync,
synchronous_commit and full_page_writes on: what users run) and one with the fast settings
(all three off), then, ``--runs`` times, takes every measurement on each cluster one after the
other, each on a fresh database of its own and in a process of its own, while sampling the
cluster's CPU time. Prints a Markdown report per cluster: each measurement's median with min
and max, its client's and the database's CPU time per job, and each target's ratio (the
median of the ratios taken within one run, with their min and max).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from cputime import TreeSampler
from psycopg import sql

from riverboat.devdb import DevDatabase
from riverboat.migrate import Migrator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RIVERBOAT = ROOT / ".venv" / "bin" / "riverboat"
MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"
PEERS_PYTHON = BENCH / ".venv" / "bin" / "python"
RIVERBENCH = BENCH / ".venv" / "bin" / "riverbench"
PEER_VERSIONS = (
    "import importlib.metadata as m; "
    "print(', '.join(f'{p} {m.version(p)}' for p in ('pgqueuer', 'procrastinate', 'asyncpg', 'uvloop', 'psycopg')))"
)
#: A measurement that takes longer than this has hung.
TIMEOUT = 900
#: A timed phase shorter than this is flagged: start-up is not noise in it.
SHORTEST_PHASE = 5.0
SETTINGS_SHOWN = (
    "server_version", "shared_buffers", "work_mem", "max_connections", "fsync", "synchronous_commit",
    "full_page_writes", "wal_level", "max_wal_size", "checkpoint_timeout", "autovacuum", "jit",
)  # fmt: skip


@dataclass(frozen=True)
class Cluster:
    key: str
    title: str
    durable: bool


CLUSTERS = (
    Cluster(
        "durable", "Default durability: fsync, synchronous_commit, full_page_writes on (PostgreSQL's defaults)", True
    ),
    Cluster("fast", "Fast settings: fsync, synchronous_commit, full_page_writes off", False),
)


@dataclass(frozen=True)
class Measurement:
    """One line of the report: ``command`` gets the database URL; ``riverboat`` says the database
    needs riverboat's migrations (peers install their own schema)."""

    name: str
    command: Callable[[str], list[str]]
    riverboat: bool = True


ASYNC = "riverboat async"
THREADS = "riverboat threads (def workers)"
WORK_ONE = "riverboat work (1 process)"
WORK_TWO = "riverboat work --processes 2"
RIVER_GO = "River Go"
RAW_LIMIT = "raw-SQL limit"


def measurements(o: argparse.Namespace) -> list[Measurement]:
    jobs, batch, inserts, connections = str(o.jobs), str(o.insert_batch), str(o.insert_jobs), str(o.raw_connections)
    burndown = [str(RIVERBOAT), "bench", "--mode", "burndown", "--jobs", jobs, "--json", "--database-url"]
    steady = [
        str(RIVERBOAT), "bench", "--mode", "steady", "--rate", str(o.rate), "--duration", str(o.duration),
        "--json", "--database-url",
    ]  # fmt: skip
    measure = [str(MAIN_PYTHON), str(BENCH / "measure.py")]
    go = [str(RIVERBENCH), "-database-url"]
    peers = BENCH / "peers"

    def work(processes: int) -> Callable[[str], list[str]]:
        return lambda u: [*measure, "work", "--jobs", jobs, "--processes", str(processes), "--database-url", u]

    def peer(script: str, peer_jobs: int) -> Callable[[str], list[str]]:
        return lambda u: [str(PEERS_PYTHON), str(peers / script), "--jobs", str(peer_jobs), "--database-url", u]

    def insert(mode: str, count: str) -> Callable[[str], list[str]]:
        return lambda u: [*measure, mode, "--jobs", count, "--batch", batch, "--database-url", u]

    return [
        Measurement(
            RAW_LIMIT,
            lambda u: [*measure, "raw-limit", "--jobs", jobs, "--connections", connections, "--database-url", u],
        ),
        Measurement(ASYNC, lambda u: [*burndown, u]),
        Measurement(THREADS, lambda u: [*burndown, u, "--sync-workers"]),
        Measurement(WORK_ONE, work(1)),
        Measurement(WORK_TWO, work(2)),
        Measurement(RIVER_GO, lambda u: [*go, u, "burndown", "-jobs", jobs]),
        Measurement("PGQueuer", peer("pgqueuer_burndown.py", o.jobs), riverboat=False),
        Measurement("Procrastinate", peer("procrastinate_burndown.py", o.procrastinate_jobs), riverboat=False),
        Measurement("riverboat steady", lambda u: [*steady, u]),
        Measurement(
            "River Go steady", lambda u: [*go, u, "steady", "-rate", str(o.rate), "-duration", f"{o.duration}s"]
        ),
        Measurement("riverboat insert (one at a time)", insert("insert-one", str(o.insert_one_jobs))),
        Measurement("riverboat insert_many", insert("insert-many", inserts)),
        Measurement("riverboat insert_many_fast", insert("insert-many-fast", inserts)),
        Measurement("raw COPY", insert("raw-copy", inserts)),
        Measurement("River Go InsertMany", lambda u: [*go, u, "insertmany", "-jobs", inserts, "-batch", batch]),
        Measurement(
            "riverboat async (1M finalized rows)", lambda u: [*burndown, u, "--seed-finalized", str(o.seed_finalized)]
        ),
        Measurement(
            "riverboat async (100k scheduled rows)", lambda u: [*burndown, u, "--seed-scheduled", str(o.seed_scheduled)]
        ),
    ]


@dataclass(frozen=True)
class Target:
    """A ratio reported for every cluster; ``bound`` None means reported without a target."""

    name: str
    numerator: str
    denominator: str
    bound: float | None
    key: str = "jobs_per_second"
    at_least: bool = True


TARGETS = [
    Target("riverboat async / River Go", ASYNC, RIVER_GO, 1.0),
    Target("riverboat work --processes 2 / River Go", WORK_TWO, RIVER_GO, 1.2),
    Target("riverboat work --processes 2 / riverboat async", WORK_TWO, ASYNC, None),
    Target("riverboat work --processes 2 / riverboat work (1 process)", WORK_TWO, WORK_ONE, None),
    Target("riverboat threads / riverboat async", THREADS, ASYNC, 0.8),
    Target("riverboat threads / River Go", THREADS, RIVER_GO, None),
    Target("riverboat async / raw-SQL limit", ASYNC, RAW_LIMIT, 0.8),
    Target("riverboat async / PGQueuer", ASYNC, "PGQueuer", 3.0),
    Target("insert_many_fast / raw COPY", "riverboat insert_many_fast", "raw COPY", 0.9),
    Target("insert_many / River Go InsertMany", "riverboat insert_many", "River Go InsertMany", 0.9),
    Target("steady p95 delay / River Go's", "riverboat steady", "River Go steady", 1.0, "delay_p95_ms", False),
    Target("throughput with 1M finalized rows / empty", "riverboat async (1M finalized rows)", ASYNC, 0.9),
]

#: One run of one measurement: its JSON object plus ``db_cpu_seconds``, or ``{"failed": why}``.
Outcome = dict[str, Any]


def create_database(admin_url: str, name: str, *, migrate: bool) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = re.sub(r"/[^/]*$", f"/{name}", admin_url)
    if migrate:
        migrator = Migrator(url)
        for line in migrator.lines():
            migrator.up(line=line)
    return url


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postmaster_pid(server: DevDatabase) -> int | None:
    """The cluster's postmaster, whose process tree is the database's CPU time; None if unreadable."""
    try:
        return int((server.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run_one(admin_url: str, postmaster: int | None, m: Measurement, run: int) -> Outcome:
    name = f"bench_{re.sub(r'[^a-z0-9]+', '_', m.name.lower()).strip('_')}_{run}"
    url = create_database(admin_url, name, migrate=m.riverboat)
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    sampler = TreeSampler(postmaster) if postmaster is not None else None
    with sampler or contextlib.nullcontext():
        try:
            done = subprocess.run(m.command(url), capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            return {"failed": f"did not finish in {TIMEOUT} s: {str(exc.stderr)[-2000:]}"}
        finally:
            drop_database(admin_url, name)
    if done.returncode != 0:
        return {"failed": f"exit {done.returncode}: {done.stderr[-2000:]}"}
    result: Outcome = json.loads(done.stdout)
    result["db_cpu_seconds"] = None if sampler is None else sampler.between(result["started_at"], result["ended_at"])
    return result


def spread(values: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def median_of(runs: list[Outcome], value: Callable[[Outcome], float | None], fmt: str) -> str:
    found = [v for r in runs if (v := value(r)) is not None]
    return fmt.format(statistics.median(found)) if found else "-"


def per_job_us(key: str) -> Callable[[Outcome], float | None]:
    return lambda r: None if r.get(key) is None else 1e6 * r[key] / r["jobs"]


def failures(runs: list[Outcome]) -> str:
    failed = [str(n) for n, r in enumerate(runs, 1) if "failed" in r]
    return f" (run {', '.join(failed)} failed)" if failed else ""


def environment(cluster_urls: dict[str, str]) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    go_version = subprocess.run(["go", "version"], capture_output=True, text=True, check=False).stdout.strip()
    peers = subprocess.run(
        [str(PEERS_PYTHON), "-c", PEER_VERSIONS], capture_output=True, text=True, check=True
    ).stdout.strip()
    river = re.findall(r"^\t(github.com/\S+) (v\S+)$", (BENCH / "go" / "go.mod").read_text(), re.MULTILINE)
    lines = [
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {memory_kb / 1024 / 1024:.1f} GiB memory, {platform.platform()}",
        f"- Python {platform.python_version()}; riverboat {metadata.version('riverboat')}, "
        f"psycopg {metadata.version('psycopg')}, psycopg-pool {metadata.version('psycopg-pool')}",
        f"- {go_version}; " + ", ".join(f"{path} {version}" for path, version in river),
        f"- peers (bench/.venv): {peers}",
    ]
    for key, url in cluster_urls.items():
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [list(SETTINGS_SHOWN)]
            ).fetchall()
        lines.append(f"- PostgreSQL ({key}): " + ", ".join(f"{name}={value}" for name, value in rows))
    return lines


def measurement_table(results: dict[str, list[Outcome]]) -> list[str]:
    lines = [
        "| measurement | jobs/s: median (min to max) | timed s | client CPU µs/job | database CPU µs/job "
        "| p50 / p95 / p99 delay ms | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    short = False
    for name, runs in results.items():
        done = [r for r in runs if "failed" not in r]
        if not done:
            lines.append(f"| {name} | failed in every run | - | - | - | - | - |")
            continue
        seconds = statistics.median(r["seconds"] for r in done)
        short = short or seconds < SHORTEST_PHASE
        rate = spread([r["jobs_per_second"] for r in done], "{:,.0f}") + failures(runs)
        delays = "-"
        if done[0].get("delay_p95_ms") is not None:
            delays = " / ".join(
                median_of(done, lambda r, k=k: r[k], "{:,.1f}")
                for k in ("delay_p50_ms", "delay_p95_ms", "delay_p99_ms")
            )
        rss = median_of(done, lambda r: r.get("max_rss_mb"), "{:.1f}")
        client = median_of(done, per_job_us("cpu_seconds"), "{:.1f}")
        database = median_of(done, per_job_us("db_cpu_seconds"), "{:.1f}")
        mark = " †" if seconds < SHORTEST_PHASE else ""
        lines.append(f"| {name} | {rate} | {seconds:.1f}{mark} | {client} | {database} | {delays} | {rss} |")
    if short:
        lines += ["", f"† timed phase under {SHORTEST_PHASE:g} s: start-up is not noise at this size."]
    return lines


def target_row(t: Target, results: dict[str, list[Outcome]]) -> str | None:
    if t.numerator not in results or t.denominator not in results:
        return None
    ratios: list[float] = []
    notes: list[str] = []
    pairs = zip(results[t.numerator], results[t.denominator], strict=True)
    for run, (numerator, denominator) in enumerate(pairs, 1):
        if "failed" in numerator or "failed" in denominator:
            notes.append(f"run {run}: a measurement failed")
        elif not denominator[t.key]:
            notes.append(f"run {run}: {t.denominator} {t.key} is 0, ratio undefined")
        else:
            ratios.append(numerator[t.key] / denominator[t.key])
    figure = spread(ratios, "{:.2f}") if ratios else "undefined"
    if notes:
        figure += "; " + "; ".join(notes)
    if t.bound is None:
        return f"| {t.name} | {figure} | - | - |"
    sign = "≥" if t.at_least else "≤"
    if not ratios:
        met = "undetermined"
    else:
        median = statistics.median(ratios)
        met = "yes" if (median >= t.bound if t.at_least else median <= t.bound) else "NO"
    return f"| {t.name} | {figure} | {sign} {t.bound} | {met} |"


def report(results: dict[str, list[Outcome]]) -> list[str]:
    lines = [*measurement_table(results), ""]
    lines += ["| ratio | median of per-run ratios (min to max) | target | met |", "|---|---|---|---|"]
    lines += [row for t in TARGETS if (row := target_row(t, results)) is not None]
    steady = [r for r in results.get("riverboat steady", []) if "failed" not in r]
    if steady:
        rss = max(r["max_rss_mb"] for r in steady)
        lines.append(f"| riverboat worker peak RSS in steady mode (max of runs), MB | {rss:.1f} | ≤ 100 | "
                     f"{'yes' if rss <= 100 else 'NO'} |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=200_000, help="burn-down size, the same for every contender")
    parser.add_argument(
        "--procrastinate-jobs",
        type=int,
        default=10_000,
        help="Procrastinate's burn-down size (it works about 750 jobs/s: 10,000 take over 10 s)",
    )
    parser.add_argument("--raw-connections", type=int, default=4, help="raw-SQL limit: connections side by side")
    parser.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="steady mode: jobs/s offered (half what 100 workers with a 100 ms cooldown can fetch)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="steady mode: seconds")
    parser.add_argument("--insert-jobs", type=int, default=600_000, help="bulk inserts: enough for 5 s of raw COPY")
    parser.add_argument("--insert-batch", type=int, default=1_000)
    parser.add_argument("--insert-one-jobs", type=int, default=5_000)
    parser.add_argument("--seed-finalized", type=int, default=1_000_000)
    parser.add_argument("--seed-scheduled", type=int, default=100_000)
    parser.add_argument(
        "--clusters", default="durable,fast", help="comma-separated: durable (PostgreSQL's defaults), fast"
    )
    parser.add_argument("--only", default=None, help="comma-separated measurement names (default: all)")
    parser.add_argument("--json-out", type=Path, default=None, help="also write every run's raw results here")
    o = parser.parse_args()
    chosen = measurements(o)
    if o.only:
        wanted = {name.strip() for name in o.only.split(",")}
        chosen = [m for m in chosen if m.name in wanted]
    keys = [key.strip() for key in o.clusters.split(",")]
    clusters = [c for c in CLUSTERS if c.key in keys]
    if not clusters or len(clusters) != len(keys):
        parser.error(f"--clusters: choose among {', '.join(c.key for c in CLUSTERS)}")
    directory = Path(tempfile.mkdtemp(prefix="riverboat-compare-"))
    directory.chmod(0o755)
    servers = {c.key: DevDatabase(directory / c.key, durable=c.durable) for c in clusters}
    try:
        admin_urls = {key: re.sub(r"/[^/]*$", "/postgres", server.start()) for key, server in servers.items()}
        postmasters = {key: postmaster_pid(server) for key, server in servers.items()}
        results = {c.key: {m.name: [] for m in chosen} for c in clusters}
        for run in range(1, o.runs + 1):
            for c in clusters:
                for m in chosen:
                    started = time.monotonic()
                    outcome = run_one(admin_urls[c.key], postmasters[c.key], m, run)
                    results[c.key][m.name].append(outcome)
                    took = f"({time.monotonic() - started:.0f} s)"
                    if "failed" in outcome:
                        print(
                            f"run {run}/{o.runs} {c.key}  {m.name}: FAILED {took}\n{outcome['failed']}", file=sys.stderr
                        )
                    else:
                        print(f"run {run}/{o.runs} {c.key}  {m.name}: {outcome['jobs_per_second']:,.0f} jobs/s "
                              f"in {outcome['seconds']:.1f} s {took}", file=sys.stderr, flush=True)  # fmt: skip
        lines = ["## Environment", "", *environment(admin_urls), ""]
        for c in clusters:
            lines += [f"## Results: {c.title}", "", *report(results[c.key]), ""]
        lines.append(
            f"burn-downs: {o.jobs:,} jobs (Procrastinate {o.procrastinate_jobs:,}); steady: {o.rate:,.0f} jobs/s "
            f"offered for {o.duration:g} s; inserts: {o.insert_jobs:,} jobs in batches of {o.insert_batch:,} "
            f"({o.insert_one_jobs:,} one at a time); raw-SQL limit: {o.raw_connections} connections; {o.runs} runs."
        )
        print("\n".join(lines))
        if o.json_out is not None:
            o.json_out.write_text(json.dumps(results, indent=2))
    finally:
        for server in servers.values():
            server.destroy()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
