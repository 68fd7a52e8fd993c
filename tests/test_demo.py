"""The README's demo runs end to end: its own cluster, migrations, three ways of enqueuing,
asyncio and thread workers, and every job completed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_completes_every_job() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "second insert skipped as duplicate: True" in result.stdout
    assert "rolled back bob's signup" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [(row[1], row[3]) for row in rows] == [
        ("welcome_email", "completed"),
        ("daily_report", "completed"),
        ("welcome_email", "completed"),
    ]
    assert "demo: stopped and removed the PostgreSQL cluster" in result.stdout
