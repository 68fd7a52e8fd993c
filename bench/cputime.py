"""Timing of a measurement's timed phase and CPU time of process trees, for bench/compare and
the programs it runs (standard library only: the peers' virtualenv imports it too). Not a test.

A measurement reports its timed phase with ``Stopwatch``: wall seconds, its own CPU seconds
(or a process tree's), and when the phase began and ended (seconds since the epoch).
bench/compare samples the database cluster's CPU time meanwhile (``TreeSampler`` on the
postmaster, whose tree holds every backend and, through the postmaster's own counters of
waited-for children, those that have exited) and reads the phase's share off the samples.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: How often a sampler reads the tree (a read costs about 1.5 ms of CPU on this machine).
SAMPLE_INTERVAL = 0.1


def _parent_and_cpu(pid: int) -> tuple[int, float] | None:
    """A process's parent and its CPU seconds: its own user and system time plus that of its
    children it has waited for (``/proc/PID/stat`` fields 14 to 17); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by process ``root`` and every descendant, running or exited
    and waited for (Linux)."""
    seen: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (found := _parent_and_cpu(int(entry.name))) is not None:
            seen[int(entry.name)] = found
    children: defaultdict[int, list[int]] = defaultdict(list)
    for pid, (parent, _) in seen.items():
        children[parent].append(pid)
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        if pid in seen:
            total += seen[pid][1]
            pending += children[pid]
    return total


class Stopwatch:
    """A timed phase, started when made. ``cpu`` reads the CPU seconds to charge to it
    (default: this process's)."""

    def __init__(self, cpu: Callable[[], float] = time.process_time) -> None:
        self._cpu = cpu
        self._cpu_start = cpu()
        self.started_at = time.time()
        self._start = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self._start
        ended_at = time.time()
        return {
            "seconds": seconds,
            "cpu_seconds": self._cpu() - self._cpu_start,
            "started_at": self.started_at,
            "ended_at": ended_at,
        }


class TreeSampler:
    """Reads ``tree_cpu_seconds(root)`` every ``SAMPLE_INTERVAL`` in a thread while in a
    ``with`` block; ``between`` then tells the CPU time used between two moments."""

    def __init__(self, root: int) -> None:
        self._root = root
        self._times: list[float] = []
        self._cpu: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self._take()

    def _take(self) -> None:
        before = time.time()
        self._cpu.append(tree_cpu_seconds(self._root))
        self._times.append((before + time.time()) / 2)

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_INTERVAL):
            self._take()

    def _at(self, moment: float) -> float | None:
        """CPU seconds at ``moment``, interpolated between the samples around it."""
        after = bisect.bisect_left(self._times, moment)
        if after == 0 or after == len(self._times):
            return None
        t0, t1 = self._times[after - 1], self._times[after]
        c0, c1 = self._cpu[after - 1], self._cpu[after]
        return c0 + (c1 - c0) * (moment - t0) / (t1 - t0)

    def between(self, start: float, end: float) -> float | None:
        """CPU seconds the tree used from ``start`` to ``end`` (epoch seconds), or None when
        the samples do not cover both."""
        first, last = self._at(start), self._at(end)
        return None if first is None or last is None else last - first
