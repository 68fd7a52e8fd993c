"""Every Python code block of the documentation runs as written, or is a marked fragment
that still type-checks.

Blocks are found in README.md, python/README.md, spec/*.md, docs/*.md and examples/ (any
``.md``), fenced with ```` ```python ```` (or ``py``). The runnable blocks of one document
run in order as one program (a later block may use an earlier one's names), in a fresh
interpreter in an empty directory, with ``DATABASE_URL`` naming a migrated test database
that also holds the application table the examples write to, ``users (email text)``.

A fragment is marked by ```` ```python fragment ```` or by an HTML comment just above the
fence whose text starts with ``fragment``; the comment's further lines are Python
declarations the fragment is type-checked with, shown to mypy but not to readers::

    <!-- fragment
    from riverboat import Client
    client: Client
    -->

mypy (strict, top-level ``await`` allowed) checks each document's runnable blocks as one
module, and each fragment after them with its declarations.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
COMMENT = re.compile(r"<!--\s*fragment\b(?P<body>.*?)-->\s*$", re.DOTALL)
PYTHON_INFO = {"python", "py", "python3"}


@dataclass(frozen=True)
class Block:
    document: str
    line: int  # of the first line of code
    code: str
    fragment: bool
    context: str  # declarations a fragment is type-checked with


def documents() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "python" / "README.md"]
    found += sorted((ROOT / "spec").glob("*.md")) + sorted((ROOT / "docs").glob("*.md"))
    found += sorted((ROOT / "examples").rglob("*.md"))
    return [path for path in found if path.is_file()]


def _marker_before(lines: list[str], index: int) -> re.Match[str] | None:
    """The fragment comment ending just above line ``index`` (blank lines between allowed)."""
    end = index - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return None
    start = end
    while start >= 0 and "<!--" not in lines[start]:
        start -= 1
    return COMMENT.search("\n".join(lines[max(start, 0) : end + 1]))


def blocks_of(path: Path) -> Iterator[Block]:
    lines = path.read_text().splitlines()
    document = str(path.relative_to(ROOT))
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, words = opening["fence"], opening["info"].split()
        closing = next(
            (end for end in range(index + 1, len(lines)) if lines[end].strip().startswith(fence[0] * len(fence))),
            len(lines),
        )
        if words and words[0] in PYTHON_INFO:
            marker = _marker_before(lines, index)
            body = "" if marker is None else marker["body"]
            context = body.split("\n", 1)[1] if "\n" in body else ""
            indent = len(opening["indent"])
            code = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[index + 1 : closing])
            yield Block(document, index + 2, code + "\n", "fragment" in words[1:] or marker is not None, context)
        index = closing + 1


ALL_BLOCKS = [block for path in documents() for block in blocks_of(path)]
RUNNABLE = sorted({block.document for block in ALL_BLOCKS if not block.fragment})


def test_blocks_are_found() -> None:
    """The scan looks where the documentation is: a parser that found nothing would pass every test."""
    assert {"README.md", "python/README.md"} <= set(RUNNABLE)
    assert len(ALL_BLOCKS) >= 4


# Runs blocks in one module named __main__, so dataclasses and pydantic resolve their names;
# each is compiled at its own line of its document, so a traceback points into the document.
RUNNER = """
import json, sys, types
main = types.ModuleType("__main__")
sys.modules["__main__"] = main
for document, line, code in json.load(open(sys.argv[1])):
    exec(compile("\\n" * (line - 1) + code, document, "exec"), main.__dict__)
"""


@pytest.mark.parametrize("document", RUNNABLE)
def test_runnable_blocks_run(document: str, db_url: str, tmp_path: Path) -> None:
    program = tmp_path / "blocks.json"
    blocks = [(b.document, b.line, b.code) for b in ALL_BLOCKS if b.document == document and not b.fragment]
    program.write_text(json.dumps(blocks))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (email text)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(program)],
        cwd=tmp_path,
        env={**env, "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{document}:\n{result.stdout}{result.stderr}"


def _module_name(document: str, suffix: str) -> str:
    return "doc_" + re.sub(r"\W", "_", document.removesuffix(".md")) + suffix


@dataclass
class Module:
    """A file for mypy made of blocks, remembering where each of its lines came from."""

    text: str = ""
    origins: list[str | None] | None = None

    def add(self, code: str, block: Block | None) -> None:
        origins = self.origins if self.origins is not None else []
        count = code.count("\n")
        origins += [None if block is None else f"{block.document}:{block.line + n}" for n in range(count)]
        self.text += code
        self.origins = origins

    def origin(self, line: int) -> str:
        found = (self.origins or [])[line - 1] if 0 < line <= len(self.origins or []) else None
        return found or f"(a fragment's declarations, line {line})"


def test_blocks_type_check(tmp_path: Path) -> None:
    modules: dict[str, Module] = {}
    for document in sorted({block.document for block in ALL_BLOCKS}):
        runnable = [b for b in ALL_BLOCKS if b.document == document and not b.fragment]
        modules[_module_name(document, "")] = session = Module()
        for block in runnable:
            session.add(block.code, block)
        for block in (b for b in ALL_BLOCKS if b.document == document and b.fragment):
            modules[_module_name(document, f"_{block.line}")] = module = Module()
            for earlier in runnable:
                module.add(earlier.code, earlier)
            module.add(block.context.rstrip("\n") + "\n" if block.context.strip() else "", None)
            module.add(block.code, block)
    for name, module in modules.items():
        (tmp_path / f"{name}.py").write_text(module.text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--disable-error-code",
            "top-level-await",
            "--allow-redefinition",
            *(str(tmp_path / f"{name}.py") for name in modules),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    def located(match: re.Match[str]) -> str:
        return modules[Path(match["path"]).stem].origin(int(match["line"])) + ":"

    report = re.sub(r"^(?P<path>\S+\.py):(?P<line>\d+):", located, result.stdout, flags=re.MULTILINE)
    assert result.returncode == 0, report + result.stderr
