"""Every reference to a spec section (``03-insert.md#state``) in the repository names a
section that exists, so a reader of code, cases or clients reaches the spec in one step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEARCHED = ("spec", "schema", "python/src", "conformance", "clients", "tests", "bench", "README.md", "CONTRIBUTING.md")
SUFFIXES = {".md", ".json", ".py", ".sql", ".go", ".rs", ".ts", ".java"}
SKIPPED_PARTS = {"node_modules", "target", "dist", ".m2", "__pycache__"}
REFERENCE = re.compile(r"\b(\d\d-[a-z0-9-]+\.md)#([a-z0-9-]+)")
ANCHOR = re.compile(r"\{#([a-z0-9-]+)\}")


def spec_anchors() -> dict[str, set[str]]:
    return {path.name: set(ANCHOR.findall(path.read_text())) for path in (ROOT / "spec").glob("*.md")}


def searched_files() -> list[Path]:
    files: list[Path] = []
    for entry in SEARCHED:
        path = ROOT / entry
        candidates = [path] if path.is_file() else path.rglob("*")
        files.extend(
            p
            for p in candidates
            if p.is_file() and p.suffix in SUFFIXES and not SKIPPED_PARTS.intersection(p.relative_to(ROOT).parts)
        )
    return files


def test_every_spec_reference_resolves() -> None:
    anchors = spec_anchors()
    checked = 0
    broken = []
    for path in searched_files():
        if path == Path(__file__):
            continue
        for match in REFERENCE.finditer(path.read_text(errors="replace")):
            checked += 1
            document, anchor = match.groups()
            if anchor not in anchors.get(document, set()):
                broken.append(f"{path.relative_to(ROOT)}: {document}#{anchor}")
    assert broken == []
    assert checked > 100, "the scan found too few references to be looking in the right places"
