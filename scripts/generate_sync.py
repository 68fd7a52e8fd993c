"""Generate riverboat's synchronous code, and its sync tests, from their asyncio source.

Every module in ``python/src/riverboat/_async/`` is written by hand; its twin in
``_sync/`` is produced from it by unasync (``async``/``await`` removed, names mapped by
REPLACEMENTS) and must never be edited. Tests follow the same rule: ``tests/<name>_async.py``
(a test module ``test_<name>_async.py`` or a helper module) is written by hand, and
``tests/<name>_sync.py`` is generated from it with TEST_REPLACEMENTS. ``--check`` exits 1
when a twin is missing or differs, or a generated module has no source; the test suite runs it.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import tokenize
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_HEADER = "# Generated from the _async twin by scripts/generate_sync.py. Do not edit.\n"
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
    "AbstractAsyncContextManager": "AbstractContextManager",
    "async_owned_pool": "owned_pool",
    # Blocking code can't be interrupted from Python: its deadlines are the connection's.
    "db_deadline": "socket_deadline",
}
# On top of REPLACEMENTS; each tests/<name>_async module also maps to its <name>_sync twin.
TEST_REPLACEMENTS = {
    "await_until": "wait_until",
    "aconn": "sconn",
}


def _unasync(sources: list[Path], replacements: dict[str, str]) -> dict[Path, str]:
    """The sync text of each source module."""
    work = Path(tempfile.mkdtemp())
    try:
        (work / "_async").mkdir()
        copies = {source: work / "_async" / source.name for source in sources}
        for source, copy in copies.items():
            shutil.copyfile(source, copy)
        unasync.unasync_files(
            [str(c) for c in copies.values()], rules=[unasync.Rule("/_async/", "/_sync/", replacements)]
        )
        return {source: (work / "_sync" / source.name).read_text() for source in sources}
    finally:
        shutil.rmtree(work)


def _test_twin_path(source: Path) -> Path:
    return source.with_name(source.name.removesuffix("_async.py") + "_sync.py")


def _asyncio_lines(text: str) -> list[int]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [token.start[0] for token in tokens if token.type == tokenize.NAME and token.string == "asyncio"]


def twins(root: Path) -> tuple[dict[Path, str], dict[Path, list[int]]]:
    """Every generated module under ``root`` with the text it must have, and the test sources
    refused because their sync twin would still use asyncio (with those lines)."""
    package = root / "python" / "src" / "riverboat"
    library = _unasync(sorted((package / "_async").glob("*.py")), REPLACEMENTS)
    expected = {
        package / "_sync" / source.name: LIBRARY_HEADER + text if text else text for source, text in library.items()
    }
    test_sources = sorted((root / "tests").glob("*_async.py"))
    modules = {source.stem: _test_twin_path(source).stem for source in test_sources}
    refused = {}
    for source, text in _unasync(test_sources, {**REPLACEMENTS, **TEST_REPLACEMENTS, **modules}).items():
        lines = _asyncio_lines(text)
        if lines:
            refused[source] = lines
            continue
        header = f"# Generated from {source.name} by scripts/generate_sync.py. Do not edit.\n"
        expected[_test_twin_path(source)] = header + text
    return expected, refused


def generated_modules(root: Path) -> list[Path]:
    """The modules under ``root`` that only the generator may write."""
    return sorted((root / "python" / "src" / "riverboat" / "_sync").glob("*.py")) + sorted(
        (root / "tests").glob("*_sync.py")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated module is missing or stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this script's)")
    options = parser.parse_args(argv)
    root = options.root.resolve()
    expected, refused = twins(root)
    problems = [
        f"{source.relative_to(root)}: its sync twin would still use asyncio (lines {lines}); "
        "keep asyncio-only tests in a module not named *_async.py"
        for source, lines in refused.items()
    ]
    sourced = set(expected) | {_test_twin_path(source) for source in refused}
    orphans = [path for path in generated_modules(root) if path not in sourced]
    stale = [path for path, text in expected.items() if not path.exists() or path.read_text() != text]
    if options.check:
        problems += [f"stale or missing: {path.relative_to(root)}; run scripts/generate_sync.py" for path in stale]
    else:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path])
            print(f"wrote {path.relative_to(root)}")
    problems += [f"no _async source for: {path.relative_to(root)}" for path in orphans]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
