"""The job-API examples run as written against a migrated database: a resumable job that
resumes after a failure, and function workers (examples/resumable_job.py,
examples/function_workers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(example: str, db_url: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)],
        env={**os.environ, "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_resumable_job_example(db_url: str) -> None:
    lines = _run("resumable_job.py", db_url)
    assert lines[:5] == [
        "attempt 1: downloading customers.csv",
        "attempt 1: loading from row 0",
        "attempt 2: loading from row 3",
        "attempt 2: 5 rows imported",
        lines[4],
    ]
    assert lines[4].endswith(
        "completed after 2 attempts; metadata "
        "{'river:resumable_step': 'download', 'river:resumable_cursor': {'load': {'next_row': 3}}}"
    )


def test_function_workers_example(db_url: str) -> None:
    lines = _run("function_workers.py", db_url)
    assert "sending an email to ada@example.com" in lines
    assert "example_send_email: completed, output None" in lines
    checksum = [line for line in lines if line.startswith("example_checksum: completed, output {")]
    assert len(checksum) == 1, lines
    assert "'rounds_done': 1000" in checksum[0]
