"""Generate riverboat's synchronous code from its asyncio source.

Every module in ``python/src/riverboat/_async/`` is written by hand; its twin in
``_sync/`` is produced from it by unasync (``async``/``await`` removed, names mapped by
REPLACEMENTS) and must never be edited. ``--check`` exits 1 when a twin is missing or
differs, which the test suite runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import unasync

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "src" / "riverboat"
HEADER = "# Generated from the _async twin by scripts/generate_sync.py. Do not edit.\n"
REPLACEMENTS = {
    "AsyncClientBase": "ClientBase",
    "AsyncClient": "Client",
    "AsyncResumableSteps": "ResumableSteps",
    "AsyncStepFunction": "StepFunction",
    "AsyncCursorStepFunction": "CursorStepFunction",
    "AsyncConnection": "Connection",
    "AsyncCursor": "Cursor",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncTransaction": "Transaction",
    "AsyncCopy": "Copy",
    "AsyncTxConnection": "TxConnection",
    "async_tx_connection": "tx_connection",
    "_async": "_sync",
    "aclose": "close",
    "asynccontextmanager": "contextmanager",
    "run_insert_chain": "run_insert_chain_sync",
}


def generate(source_root: Path, target_root: Path) -> list[Path]:
    """Write the sync twin of every module in ``source_root/_async`` under ``target_root/_sync``."""
    work = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(source_root / "_async", work / "_async")
        sources = sorted(str(p) for p in (work / "_async").glob("*.py"))
        unasync.unasync_files(sources, rules=[unasync.Rule("/_async/", "/_sync/", REPLACEMENTS)])
        target = target_root / "_sync"
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for generated in sorted((work / "_sync").glob("*.py")):
            text = generated.read_text()
            out = target / generated.name
            out.write_text(HEADER + text if text else text)
            written.append(out)
        return written
    finally:
        shutil.rmtree(work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated module is missing or stale")
    options = parser.parse_args()
    if not options.check:
        for path in generate(PACKAGE, PACKAGE):
            print(f"wrote {path.relative_to(PACKAGE.parent.parent.parent)}")
        return 0
    scratch = Path(tempfile.mkdtemp())
    try:
        stale = []
        for fresh in generate(PACKAGE, scratch):
            current = PACKAGE / "_sync" / fresh.name
            if not current.exists() or current.read_text() != fresh.read_text():
                stale.append(current)
        expected = {p.name for p in (scratch / "_sync").glob("*.py")}
        extra = [p for p in (PACKAGE / "_sync").glob("*.py") if p.name not in expected]
    finally:
        shutil.rmtree(scratch)
    for path in stale:
        print(f"stale or missing: {path}; run scripts/generate_sync.py", file=sys.stderr)
    for path in extra:
        print(f"no _async source for: {path}", file=sys.stderr)
    return 1 if stale or extra else 0


if __name__ == "__main__":
    sys.exit(main())
