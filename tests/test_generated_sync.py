import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sync_modules_are_generated_from_their_async_source() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_sync.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
