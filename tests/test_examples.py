"""The examples in examples/ run as their docstrings say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(module: str, db_url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", f"examples.{module}"],
        cwd=ROOT,
        env={"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_complete_in_transaction(db_url: str) -> None:
    assert run_example("complete_in_transaction", db_url) == "alice has 250 cents; 1 receipt job queued\n"


def test_resumable_job(db_url: str) -> None:
    lines = run_example("resumable_job", db_url).splitlines()
    assert lines[:4] == [
        "attempt 1: downloading customers.csv",
        "attempt 1: loading from row 0",
        "attempt 2: loading from row 3",
        "attempt 2: 5 rows imported",
    ]
    # The retry skipped the download and resumed the load from the saved cursor; success
    # left the progress as the failed attempt saved it, as River does.
    assert lines[4].endswith(
        "completed after 2 attempts; metadata "
        "{'river:resumable_step': 'download', 'river:resumable_cursor': {'load': {'next_row': 3}}}"
    )


def test_function_workers(db_url: str) -> None:
    lines = run_example("function_workers", db_url).splitlines()
    assert "sending an email to ada@example.com" in lines
    assert "example_send_email: completed, output None" in lines
    checksum = [line for line in lines if line.startswith("example_checksum: completed, output {")]
    assert len(checksum) == 1, lines
    assert "'rounds_done': 1000" in checksum[0]
