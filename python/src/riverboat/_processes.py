"""``riverboat work --processes N``: N worker processes of one client, supervised.

A Python process works jobs on one core; this runs N of them. The supervisor starts each
child as the same ``riverboat`` command line without ``--processes``, with
``RIVERBOAT_WORK_PROCESS=k/N`` in its environment. In a child:

- ``riverboat work`` claims the slot at start (``claim_process_slot``, which also takes
  the variable out of the environment, so programs its jobs start don't inherit it);
- the client's id (given or default) gets ``_p<k>``, within River's 100 characters
  (``client_id_of_this_process``, applied where a client's settings are made), so every
  process has its own id in ``attempted_by`` and in leader election;
- every line it writes reaches the supervisor's stdout or stderr prefixed ``[process k/N]``.

The supervisor forwards every SIGINT and SIGTERM to every child, so the first stops each
one softly and the second cancels their running jobs, as for one process; it exits once all
have, with status 0 only if every child exited 0. A child that exits while no stop was asked
for is restarted after a delay that doubles, from 1 s up to 1 min, while it keeps exiting
within a minute of starting. Children run in a session of their own so that a terminal's
Ctrl-C reaches them once, through the supervisor; on Linux a child is also sent SIGTERM if
the supervisor dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from riverboat._rules import CLIENT_ID_MAX_LENGTH
from riverboat.errors import ValidationError

logger = logging.getLogger("riverboat.supervisor")

PROCESS_ENV = "RIVERBOAT_WORK_PROCESS"
PROCESSES_OPTION = "--processes"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RESTART_DELAY_FIRST = 1.0
RESTART_DELAY_MAX = 60.0
#: A child that ran this long before exiting is restarted after the first delay again.
STEADY_RUN = 60.0
#: How long output still held by a child's own children is read after the child exited.
OUTPUT_DRAIN_TIMEOUT = 2.0
_PR_SET_PDEATHSIG = 1
_SLOT = re.compile(r"([1-9][0-9]*)/([1-9][0-9]*)")


@dataclass(frozen=True)
class ProcessSlot:
    """Child ``index`` (from 1) of ``count``."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def client_id(self, client_id: str) -> str:
        """``client_id`` (a valid one) with ``_p<index>``, cut to fit River's limit."""
        suffix = f"_p{self.index}"
        return client_id[: CLIENT_ID_MAX_LENGTH - len(suffix)] + suffix


_claimed: ProcessSlot | None = None


def claim_process_slot() -> ProcessSlot | None:
    """In a child, read its slot from the environment and take it out, so that programs the
    child's jobs start don't inherit it; ``None`` in a process the supervisor didn't start."""
    global _claimed  # noqa: PLW0603 - one slot per process, claimed once at start
    value = os.environ.pop(PROCESS_ENV, None)
    if value is None:
        return _claimed
    match = _SLOT.fullmatch(value)
    if match is None or int(match[1]) > int(match[2]):
        raise ValidationError(
            PROCESS_ENV, "format", "must be k/N with 1 <= k <= N (riverboat work --processes sets it)", value
        )
    _claimed = ProcessSlot(int(match[1]), int(match[2]))
    return _claimed


def client_id_of_this_process(client_id: str) -> str:
    """The id a client made in this process works under, given its valid id (see the
    module's docstring)."""
    return client_id if _claimed is None else _claimed.client_id(client_id)


def process_count(value: str) -> int:
    """``--processes``: a positive integer, or ``auto`` for the machine's CPU cores."""
    if value == "auto":
        return os.cpu_count() or 1
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise ValidationError("processes", "range", "must be a positive integer or auto", value)
    return int(value)


def child_arguments(arguments: Sequence[str]) -> list[str]:
    """The command line ``arguments`` (after the program) without ``--processes`` and its value."""
    kept: list[str] = []
    rest = iter(arguments)
    for argument in rest:
        if argument == "--":
            kept += [argument, *rest]
        elif argument == PROCESSES_OPTION:
            next(rest, None)
        elif not argument.startswith(PROCESSES_OPTION + "="):
            kept.append(argument)
    return kept


def supervise(count: int, *, prefix_lines: bool = True) -> int:
    """Run ``count`` children of this ``riverboat`` command until all have stopped (see the
    module's docstring); returns the exit status. Without ``prefix_lines`` (JSON logs, whose
    records carry the process as a field) children's lines pass through unchanged."""
    command = [sys.executable, "-m", "riverboat", *child_arguments(sys.argv[1:])]
    _watch_children_without_threads()
    return asyncio.run(_Supervisor(command, count, prefix_lines=prefix_lines).run())


def _watch_children_without_threads() -> None:
    """Keep the supervisor to one thread. Linux sends a child its parent-death signal each time
    it passes to another parent, and a dying process hands its children from thread to
    thread: with the thread per child that asyncio waits with before Python 3.12, a child
    would get SIGTERM twice, a cancel. Python 3.12 and later wait with pidfds already."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


def _announce(text: str) -> None:
    logger.info("%s", text)


def _describe(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"with status {returncode}"


def _stop_with_supervisor() -> Callable[[], None] | None:
    """For a child, on Linux: have the kernel send SIGTERM (a soft stop) if the supervisor dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # noqa: PLC0415 - only the supervisor needs it, not every client that imports this module

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Supervisor:
    def __init__(self, command: list[str], count: int, *, prefix_lines: bool) -> None:
        self._command = command
        self._prefix_lines = prefix_lines
        self._slots = [ProcessSlot(index, count) for index in range(1, count + 1)]
        self._running: dict[int, asyncio.subprocess.Process] = {}
        self._signals: list[signal.Signals] = []
        self._stopping = asyncio.Event()
        self._pre_exec = _stop_with_supervisor()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            statuses = await asyncio.gather(*(self._keep_running(slot) for slot in self._slots))
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
        return 0 if all(status == 0 for status in statuses) else 1

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signals.append(sig)
        if len(self._signals) == 1:
            _announce(f"stopping {len(self._slots)} processes (running jobs finish; signal again to cancel)")
        else:
            _announce(f"cancelling running jobs in {len(self._slots)} processes")
        self._stopping.set()
        for process in self._running.values():
            process.send_signal(sig)

    async def _keep_running(self, slot: ProcessSlot) -> int:
        """Run ``slot``'s child, restarting it until a stop is asked for; its last exit status."""
        loop = asyncio.get_running_loop()
        quick_exits = 0
        while True:
            started = loop.time()
            returncode = await self._run_once(slot)
            if self._stopping.is_set():
                if returncode != 0:
                    _announce(f"process {slot.label} exited {_describe(returncode)}")
                return returncode
            quick_exits = quick_exits + 1 if loop.time() - started < STEADY_RUN else 1
            delay = min(RESTART_DELAY_MAX, RESTART_DELAY_FIRST * 2 ** (quick_exits - 1))
            _announce(f"process {slot.label} exited {_describe(returncode)}; restarting in {delay:g} s")
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                continue
            return returncode

    async def _run_once(self, slot: ProcessSlot) -> int:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, PROCESS_ENV: slot.label},
            start_new_session=True,
            preexec_fn=self._pre_exec,
        )
        self._running[slot.index] = process
        # Signals that arrived while it was being started.
        for sig in self._signals:
            process.send_signal(sig)
        _announce(f"process {slot.label} started (pid {process.pid})")
        prefix = f"[process {slot.label}] ".encode() if self._prefix_lines else b""
        assert process.stdout is not None
        assert process.stderr is not None
        output = asyncio.gather(
            _copy_lines(process.stdout, sys.stdout.buffer, prefix),
            _copy_lines(process.stderr, sys.stderr.buffer, prefix),
        )
        try:
            returncode = await process.wait()
        finally:
            del self._running[slot.index]
        try:
            await asyncio.wait_for(output, OUTPUT_DRAIN_TIMEOUT)
        except TimeoutError:
            _announce(f"process {slot.label} exited; its own children still hold its output, left unread")
        return returncode


async def _copy_lines(source: asyncio.StreamReader, sink: BinaryIO, prefix: bytes) -> None:
    """Copy ``source`` to ``sink`` line by line, each line prefixed. Once ``sink`` fails
    (closed), the rest is read and dropped, so the child never blocks on a full pipe."""
    pending = b""
    writable = True
    while chunk := await source.read(65_536):
        *lines, pending = (pending + chunk).split(b"\n")
        if lines and writable:
            try:
                sink.write(b"".join(prefix + line + b"\n" for line in lines))
                sink.flush()
            except OSError:
                writable = False
    if pending and writable:
        with contextlib.suppress(OSError):
            sink.write(prefix + pending + b"\n")
            sink.flush()
