"""The insert-only client imports nothing of the worker: importing it must not drag in the
producer, executor, completer, listener, leader or maintenance (issue 19)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "src" / "riverboat"
WORKER_MODULES = {
    "riverboat._runtime",
    "riverboat._working",
    "riverboat._fetch",
    "riverboat._execute",
    "riverboat._complete",
    "riverboat._listener",
    "riverboat._leader",
    "riverboat._deadlines",
    "riverboat._maintenance",
}


def _module_path(name: str) -> Path | None:
    relative = Path(*name.split(".")[1:])
    for candidate in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(name: str) -> set[str]:
    path = _module_path(name)
    if path is None:
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("riverboat"):
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}" for alias in node.names if _module_path(f"{node.module}.{alias.name}")
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("riverboat"))
    return {f for f in found if f != "riverboat"}


def _closure(root: str) -> set[str]:
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imports(name))
    return seen


@pytest.mark.parametrize("client", ["riverboat._async.client", "riverboat._sync.client"])
def test_the_insert_only_client_imports_nothing_of_the_worker(client: str) -> None:
    reached = _closure(client)
    pulled = sorted(m for m in reached if any(m == w or m.startswith(w + ".") for w in WORKER_MODULES))
    assert pulled == []
