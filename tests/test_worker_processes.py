"""``riverboat work --processes N``: N supervised worker processes of one client."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from riverboat import AsyncClient, QueueConfig, Workers
from riverboat._processes import PROCESS_ENV, ProcessSlot, child_arguments, claim_process_slot, process_count
from riverboat.errors import ValidationError
from tests.helpers import wait_until
from tests.worker_processes_target import Meet
from tests.worker_support import insert_jobs, job_row, states

#: Starting interpreters on a busy machine is slow; nothing here waits this long when it works.
STARTUP_TIMEOUT = 60.0
TARGET = "tests.worker_processes_target"
STARTED = re.compile(r"riverboat\.supervisor: process (\d+)/\d+ started \(pid (\d+)\)$")


class Supervisor:
    """``riverboat work --processes N`` of the test target, its stderr collected line by line."""

    def __init__(self, db_url: str, processes: int, *options: str) -> None:
        self.count = processes
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riverboat", "work", "--processes", str(processes), *options, f"{TARGET}:make"],
            env={**os.environ, "RIVERBOAT_TEST_URL": db_url},
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def pids(self) -> dict[int, int]:
        """The newest pid of each child that has started, by index."""
        started = (STARTED.search(line) for line in list(self.lines))
        return {int(m[1]): int(m[2]) for m in started if m}

    def every_child_said(self, text: str) -> bool:
        lines = list(self.lines)
        return all(any(line.startswith(f"[process {k}/{self.count}] ") and text in line for line in lines)
                   for k in range(1, self.count + 1))  # fmt: skip

    def wait_for_every_child(self, text: str) -> None:
        wait_until(lambda: self.every_child_said(text), timeout=STARTUP_TIMEOUT, what=f"{text!r} from every child")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def close(self) -> None:
        """After a test: stop softly, then cancel, then kill (its children then stop softly)."""
        for ask in (self.proc.terminate, self.proc.terminate, self.proc.kill):
            if self.proc.poll() is not None:
                return
            ask()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def side_tables(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE worked_by (round int, job_id bigint, pid int, client_id text)")
    conn.execute("CREATE TABLE released (round int)")


@pytest.fixture
def supervisor(db_url: str, side_tables: None) -> Any:
    running = Supervisor(db_url, 2)
    yield running
    running.close()


def meet(conn: psycopg.Connection[Any], round_: int, processes: int, *, hold: bool = False) -> list[int]:
    return insert_jobs(conn, "meet", [{"round": round_, "processes": processes, "hold": hold}] * processes)


def worked_by(conn: psycopg.Connection[Any], round_: int) -> list[tuple[int, str]]:
    return conn.execute("SELECT pid, client_id FROM worked_by WHERE round = %s ORDER BY pid", (round_,)).fetchall()


def test_processes_share_the_work(conn: psycopg.Connection[Any], supervisor: Supervisor) -> None:
    # Two jobs that each wait for the other: done only if two processes work side by side.
    ids = meet(conn, 1, 2)
    wait_until(lambda: states(conn, ids) == ["completed"] * 2, timeout=STARTUP_TIMEOUT, what="both jobs completed")
    (pid_a, id_a), (pid_b, id_b) = worked_by(conn, 1)
    assert pid_a != pid_b
    assert set(supervisor.pids().values()) == {pid_a, pid_b}
    assert sorted(client_id[-3:] for client_id in (id_a, id_b)) == ["_p1", "_p2"]
    assert {job_row(conn, job_id)["attempted_by"][-1] for job_id in ids} == {id_a, id_b}
    supervisor.wait_for_every_child("started: queues")
    # One of them leads (they elect through river_leader as separate clients).
    leader = wait_until(
        lambda: conn.execute("SELECT leader_id FROM river_leader").fetchone(), timeout=STARTUP_TIMEOUT, what="a leader"
    )
    assert leader[0] in {id_a, id_b}
    assert supervisor.stop() == 0


def test_json_logs_of_every_process_parse_and_name_their_process(db_url: str, side_tables: None) -> None:
    running = Supervisor(db_url, 2, "--log-format", "json")
    try:

        def both_started() -> bool:
            return {r.get("worker_process") for r in _records(running) if "started: queues" in r["message"]} == {
                "1/2",
                "2/2",
            }

        wait_until(both_started, timeout=STARTUP_TIMEOUT, what="both processes' start banners")
        assert running.stop() == 0
    finally:
        running.close()
    records = _records(running)
    assert any(r["logger"] == "riverboat.supervisor" and "started (pid" in r["message"] for r in records)


def _records(running: Supervisor) -> list[dict[str, Any]]:
    """Every stderr line, each one a JSON object."""
    return [json.loads(line) for line in list(running.lines)]


def test_killed_child_is_restarted(conn: psycopg.Connection[Any], supervisor: Supervisor) -> None:
    first = wait_until(lambda: len(supervisor.pids()) == 2 and supervisor.pids(), timeout=STARTUP_TIMEOUT)
    os.kill(first[1], signal.SIGKILL)
    restarted = wait_until(
        lambda: supervisor.pids()[1] != first[1] and supervisor.pids(), timeout=STARTUP_TIMEOUT, what="a new child 1"
    )
    assert any(line.endswith("process 1/2 exited killed by SIGKILL; restarting in 1 s") for line in supervisor.lines)
    ids = meet(conn, 1, 2)
    wait_until(lambda: states(conn, ids) == ["completed"] * 2, timeout=STARTUP_TIMEOUT, what="both jobs completed")
    assert {pid for pid, _ in worked_by(conn, 1)} == {restarted[1], first[2]}
    assert supervisor.stop() == 0


def test_first_signal_stops_every_child_softly(conn: psycopg.Connection[Any], supervisor: Supervisor) -> None:
    ids = meet(conn, 1, 2, hold=True)
    wait_until(lambda: len(worked_by(conn, 1)) == 2, timeout=STARTUP_TIMEOUT, what="a job running in each process")
    supervisor.proc.send_signal(signal.SIGTERM)
    # Jobs are held until every child has seen the signal, then finish during the soft stop.
    supervisor.wait_for_every_child("stopping (running jobs finish")
    conn.execute("INSERT INTO released VALUES (1)")
    assert supervisor.proc.wait(timeout=60) == 0
    assert states(conn, ids) == ["completed"] * 2


def test_second_signal_cancels_in_every_child(conn: psycopg.Connection[Any], supervisor: Supervisor) -> None:
    ids = meet(conn, 1, 2, hold=True)
    wait_until(lambda: len(worked_by(conn, 1)) == 2, timeout=STARTUP_TIMEOUT, what="a job running in each process")
    supervisor.proc.send_signal(signal.SIGTERM)
    supervisor.wait_for_every_child("stopping (running jobs finish")
    supervisor.proc.send_signal(signal.SIGINT)
    assert supervisor.proc.wait(timeout=60) == 0, supervisor.output()
    for job_id in ids:
        row = job_row(conn, job_id)
        assert (row["state"], row["attempt"], row["errors"]) == ("available", 0, None)


def test_children_stop_softly_when_the_supervisor_dies(
    conn: psycopg.Connection[Any], db_url: str, supervisor: Supervisor
) -> None:
    ids = meet(conn, 1, 2, hold=True)
    wait_until(lambda: len(worked_by(conn, 1)) == 2, timeout=STARTUP_TIMEOUT, what="a job running in each process")
    children = list(supervisor.pids().values())
    supervisor.proc.kill()
    supervisor.proc.wait()
    # The kernel sends each child SIGTERM, although its output has nowhere to go now.
    conn.execute("INSERT INTO released VALUES (1)")

    def child_running(pid: int) -> bool:
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"RIVERBOAT_TEST_URL={db_url}".encode() in environment

    wait_until(lambda: not any(child_running(pid) for pid in children), timeout=60, what="the children to exit")
    assert states(conn, ids) == ["completed"] * 2, [job_row(conn, job_id) for job_id in ids]


def test_a_child_stops_on_sigterm_with_its_output_closed(db_url: str) -> None:
    # What a child sees once its supervisor is gone: stopping must not depend on saying so.
    proc = subprocess.Popen(
        [sys.executable, "-m", "riverboat", "work", f"{TARGET}:make"],
        env={**os.environ, "RIVERBOAT_TEST_URL": db_url, PROCESS_ENV: "1/2"},
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        wait_until(lambda: "started: queues" in proc.stderr.readline(), timeout=STARTUP_TIMEOUT)
        proc.stderr.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_client_id_of_a_child(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("riverboat._processes._claimed", None)
    monkeypatch.setenv(PROCESS_ENV, "2/4")
    assert claim_process_slot() == ProcessSlot(2, 4)
    assert PROCESS_ENV not in os.environ  # a job's own subprocess doesn't inherit the slot
    queues = {"default": QueueConfig(max_workers=1)}
    assert AsyncClient(db_url, queues=queues, workers=Workers(Meet()), client_id="given").client_id == "given_p2"
    assert AsyncClient(db_url, queues=queues, workers=Workers(Meet())).client_id.endswith("_p2")
    monkeypatch.setenv(PROCESS_ENV, "5/4")
    with pytest.raises(ValidationError, match=PROCESS_ENV):
        claim_process_slot()


def test_process_slots_and_counts() -> None:
    slot = ProcessSlot(12, 16)
    assert slot.client_id("a" * 100) == "a" * 96 + "_p12"
    assert process_count("auto") == os.cpu_count()
    assert process_count("3") == 3
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(ValidationError, match="processes"):
            process_count(bad)
    arguments = ["work", "--processes", "2", "m:a", "--processes=3", "--", "--processes"]
    assert child_arguments(arguments) == ["work", "m:a", "--", "--processes"]


def test_bad_process_count_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "riverboat", "work", "--processes", "0", "m:a"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "riverboat: invalid processes (range): must be a positive integer or auto (got '0')"
