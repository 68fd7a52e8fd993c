"""riverboat side by side with River Go, the raw-SQL limit, PGQueuer and Procrastinate. Not a test.

Run through ``bench/compare`` (which installs the peers and builds the Go program). Starts a
private PostgreSQL cluster, then, ``--runs`` times, takes every measurement one after the
other, each on a fresh database of its own in that cluster and in a process of its own, and
prints a Markdown report: each measurement's median with min and max, and each target's
ratio (the median of the ratios taken within one run, with their min and max).
"""

from __future__ import annotations

import argparse
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
TIMEOUT = 600
SETTINGS_SHOWN = (
    "server_version", "shared_buffers", "work_mem", "max_connections", "fsync", "synchronous_commit",
    "full_page_writes", "wal_level", "max_wal_size", "checkpoint_timeout", "autovacuum", "jit",
)  # fmt: skip


@dataclass(frozen=True)
class Measurement:
    """One line of the report: ``command`` gets the database URL; ``riverboat`` says the database
    needs riverboat's migrations (peers install their own schema)."""

    name: str
    group: str
    command: Callable[[str], list[str]]
    riverboat: bool = True


def measurements(o: argparse.Namespace) -> list[Measurement]:
    jobs, batch = str(o.jobs), str(o.insert_batch)
    burndown = [str(RIVERBOAT), "bench", "--mode", "burndown", "--jobs", jobs, "--json", "--database-url"]
    steady = [
        str(RIVERBOAT), "bench", "--mode", "steady", "--rate", str(o.rate), "--duration", str(o.duration),
        "--json", "--database-url",
    ]  # fmt: skip
    go_steady = ["steady", "-rate", str(o.rate), "-duration", f"{o.duration}s"]
    measure = [str(MAIN_PYTHON), str(BENCH / "measure.py")]
    peers = BENCH / "peers"
    return [
        Measurement(
            "raw-SQL limit", "burn-down", lambda u: [*measure, "raw-limit", "--jobs", jobs, "--database-url", u]
        ),
        Measurement("riverboat async", "burn-down", lambda u: [*burndown, u]),
        Measurement("riverboat sync", "burn-down", lambda u: [*burndown, u, "--sync-workers"]),
        Measurement(
            "River Go", "burn-down", lambda u: [str(RIVERBENCH), "-database-url", u, "burndown", "-jobs", jobs]
        ),
        Measurement(
            "PGQueuer",
            "burn-down",
            lambda u: [str(PEERS_PYTHON), str(peers / "pgqueuer_burndown.py"), "--jobs", jobs, "--database-url", u],
            riverboat=False,
        ),
        Measurement(
            "Procrastinate",
            "burn-down",
            lambda u: [
                str(PEERS_PYTHON),
                str(peers / "procrastinate_burndown.py"),
                "--jobs",
                jobs,
                "--database-url",
                u,
            ],
            riverboat=False,
        ),
        Measurement("riverboat steady", "steady", lambda u: [*steady, u]),
        Measurement("River Go steady", "steady", lambda u: [str(RIVERBENCH), "-database-url", u, *go_steady]),
        Measurement(
            "riverboat insert (one at a time)",
            "insert",
            lambda u: [*measure, "insert-one", "--jobs", str(o.insert_one_jobs), "--database-url", u],
        ),
        Measurement(
            "riverboat insert_many",
            "insert",
            lambda u: [*measure, "insert-many", "--jobs", str(o.insert_jobs), "--batch", batch, "--database-url", u],
        ),
        Measurement(
            "riverboat insert_many_fast",
            "insert",
            lambda u: [
                *measure,
                "insert-many-fast",
                "--jobs",
                str(o.insert_jobs),
                "--batch",
                batch,
                "--database-url",
                u,
            ],
        ),
        Measurement(
            "raw COPY",
            "insert",
            lambda u: [*measure, "raw-copy", "--jobs", str(o.insert_jobs), "--batch", batch, "--database-url", u],
        ),
        Measurement(
            "River Go InsertMany",
            "insert",
            lambda u: [str(RIVERBENCH), "-database-url", u, "insertmany", "-jobs", str(o.insert_jobs), "-batch", batch],
        ),
        Measurement(
            "riverboat async (1M finalized rows)",
            "scale",
            lambda u: [*burndown, u, "--seed-finalized", str(o.seed_finalized)],
        ),
        Measurement(
            "riverboat async (100k scheduled rows)",
            "scale",
            lambda u: [*burndown, u, "--seed-scheduled", str(o.seed_scheduled)],
        ),
    ]


@dataclass(frozen=True)
class Target:
    name: str
    numerator: str
    denominator: str
    key: str
    bound: float
    at_least: bool = True


TARGETS = [
    Target("riverboat burn-down / River Go's", "riverboat async", "River Go", "jobs_per_second", 0.8),
    Target("riverboat burn-down / raw-SQL limit", "riverboat async", "raw-SQL limit", "jobs_per_second", 0.8),
    Target("riverboat burn-down / PGQueuer", "riverboat async", "PGQueuer", "jobs_per_second", 3.0),
    Target("insert_many_fast / raw COPY", "riverboat insert_many_fast", "raw COPY", "jobs_per_second", 0.9),
    Target("insert_many / River Go InsertMany", "riverboat insert_many", "River Go InsertMany", "jobs_per_second", 0.9),
    Target("steady p95 delay / River Go's", "riverboat steady", "River Go steady", "delay_p95_ms", 1.25, False),
    Target(
        "throughput with 1M finalized rows / empty",
        "riverboat async (1M finalized rows)",
        "riverboat async",
        "jobs_per_second",
        0.9,
    ),
]


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


def run_one(admin_url: str, m: Measurement, run: int) -> dict[str, Any]:
    name = f"bench_{re.sub(r'[^a-z0-9]+', '_', m.name.lower()).strip('_')}_{run}"
    url = create_database(admin_url, name, migrate=m.riverboat)
    try:
        done = subprocess.run(m.command(url), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"{m.name} did not finish in {TIMEOUT} s:\n{exc.stderr!r}") from None
    finally:
        drop_database(admin_url, name)
    if done.returncode != 0:
        raise SystemExit(f"{m.name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def spread(values: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def environment(url: str) -> list[str]:
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
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [list(SETTINGS_SHOWN)]
        ).fetchall()
    shown = ", ".join(f"{name}={value}" for name, value in rows)
    lines.append(f"- PostgreSQL: {shown}")
    return lines


def report(results: dict[str, list[dict[str, Any]]], o: argparse.Namespace) -> list[str]:
    lines = [
        "| measurement | jobs/s: median (min to max) | p50 / p95 / p99 delay ms (medians) | peak RSS MB |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        rate = spread([r["jobs_per_second"] for r in runs], "{:,.0f}")
        delays = "-"
        if runs[0].get("delay_p95_ms") is not None:
            delays = " / ".join(
                f"{statistics.median(r[k] for r in runs):,.1f}"
                for k in ("delay_p50_ms", "delay_p95_ms", "delay_p99_ms")
            )
        rss = f"{statistics.median(r['max_rss_mb'] for r in runs):.1f}" if "max_rss_mb" in runs[0] else "-"
        lines.append(f"| {name} | {rate} | {delays} | {rss} |")
    lines += ["", "| target | ratio: median of per-run ratios (min to max) | bound | met |", "|---|---|---|---|"]
    for t in TARGETS:
        if t.numerator not in results or t.denominator not in results:
            continue
        ratios = [
            n[t.key] / d[t.key] for n, d in zip(results[t.numerator], results[t.denominator], strict=True) if d[t.key]
        ]
        median = statistics.median(ratios)
        met = median >= t.bound if t.at_least else median <= t.bound
        sign = "≥" if t.at_least else "≤"
        lines.append(f"| {t.name} | {spread(ratios, '{:.2f}')} | {sign} {t.bound} | {'yes' if met else 'NO'} |")
    if "riverboat steady" in results:
        rss = max(r["max_rss_mb"] for r in results["riverboat steady"])
        lines.append(f"| riverboat worker peak RSS in steady mode (max of runs), MB | {rss:.1f} | ≤ 100 | "
                     f"{'yes' if rss <= 100 else 'NO'} |")  # fmt: skip
    lines += [
        "",
        f"burn-down: {o.jobs:,} jobs; steady: {o.rate:,.0f} jobs/s offered for {o.duration} s; inserts: "
        f"{o.insert_jobs:,} jobs in batches of {o.insert_batch:,} ({o.insert_one_jobs:,} for one at a time); "
        f"{o.runs} runs.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=20_000, help="burn-down size, the same for every contender")
    parser.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="steady mode: jobs/s offered (half what 100 workers with a 100 ms cooldown can fetch)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="steady mode: seconds")
    parser.add_argument("--insert-jobs", type=int, default=20_000)
    parser.add_argument("--insert-batch", type=int, default=1_000)
    parser.add_argument("--insert-one-jobs", type=int, default=2_000)
    parser.add_argument("--seed-finalized", type=int, default=1_000_000)
    parser.add_argument("--seed-scheduled", type=int, default=100_000)
    parser.add_argument("--only", default=None, help="comma-separated measurement names (default: all)")
    parser.add_argument("--json-out", type=Path, default=None, help="also write every run's raw results here")
    o = parser.parse_args()
    chosen = measurements(o)
    if o.only:
        wanted = {name.strip() for name in o.only.split(",")}
        chosen = [m for m in chosen if m.name in wanted]
    directory = Path(tempfile.mkdtemp(prefix="riverboat-compare-"))
    directory.chmod(0o755)
    server = DevDatabase(directory / "db")
    try:
        admin_url = re.sub(r"/[^/]*$", "/postgres", server.start())
        results: dict[str, list[dict[str, Any]]] = {m.name: [] for m in chosen}
        for run in range(1, o.runs + 1):
            for m in chosen:
                started = time.monotonic()
                result = run_one(admin_url, m, run)
                results[m.name].append(result)
                extra = f", p95 {result['delay_p95_ms']:.1f} ms" if result.get("delay_p95_ms") is not None else ""
                print(
                    f"run {run}/{o.runs}  {m.name}: {result['jobs_per_second']:,.0f} jobs/s{extra} "
                    f"({time.monotonic() - started:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        lines = ["## Environment", "", *environment(admin_url), "", "## Results", "", *report(results, o)]
        print("\n".join(lines))
        if o.json_out is not None:
            o.json_out.write_text(json.dumps(results, indent=2))
    finally:
        server.destroy()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
