from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from tests.helpers import wait_until
from tests.worker_support import insert_jobs, job_row, states

# `riverboat work` writes "working", then "stopping" on the first signal.
STDERR_LINES_BEFORE_STOPPING = 2


def start(db_url: str, factory: str = "make") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "riverboat", "work", f"tests.worker_cli_target:{factory}"],
        env={**os.environ, "RIVERBOAT_TEST_URL": db_url},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_first_signal_stops_softly(conn: psycopg.Connection[Any], db_url: str, tmp_path: Path) -> None:
    release = tmp_path / "release"
    ids = insert_jobs(conn, "gated", [{"release": str(release)}])
    proc = start(db_url)
    wait_until(lambda: states(conn, ids) == ["running"], what="job running")
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    assert any("stopping" in proc.stderr.readline() for _ in range(STDERR_LINES_BEFORE_STOPPING))
    # The stop has begun and the job still runs; only now may it finish.
    assert states(conn, ids) == ["running"]
    release.touch()
    assert proc.wait(timeout=30) == 0
    assert states(conn, ids) == ["completed"]


def test_sync_client_target_works_and_stops(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "sleeper", [{"seconds": 0.1}])
    proc = start(db_url, "make_sync")
    wait_until(lambda: states(conn, ids) == ["completed"], what="job completed")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    # `riverboat work` froze its startup objects before working.
    assert job_row(conn, ids[0])["metadata"]["output"]["frozen_objects"] > 1000


def test_second_signal_cancels(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "sleeper", [{"seconds": 3600}])
    proc = start(db_url)
    wait_until(lambda: states(conn, ids) == ["running"], what="job running")
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    assert any("stopping" in proc.stderr.readline() for _ in range(STDERR_LINES_BEFORE_STOPPING))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    row = job_row(conn, ids[0])
    assert (row["state"], row["attempt"], row["errors"]) == ("available", 0, None)


def test_bad_target_is_one_line(db_url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "riverboat", "work", "nomodule"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "riverboat: invalid target (format): must be module:attr (got 'nomodule')"
