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
