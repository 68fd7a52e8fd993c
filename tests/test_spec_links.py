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


NORMATIVE = re.compile(r"\b(MUST|SHOULD|SHALL|REQUIRED|RECOMMENDED|MAY|OPTIONAL)\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")
LINKING = [*sorted((ROOT / "spec").glob("*.md")), ROOT / "python" / "README.md"]


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a Markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def document_anchors(path: Path) -> set[str]:
    """Explicit {#anchors}, or GitHub's heading slugs in a file that has none."""
    headings = [line for _, line in prose_lines(path) if line.startswith("#")]
    explicit = {a for line in headings for a in ANCHOR.findall(line)}
    if explicit:
        return explicit
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-") for line in headings}


def test_every_spec_section_has_one_anchor_and_every_rule_lies_in_one() -> None:
    """A rule can be cited only by its section's anchor: every heading below the title has
    one, anchors are unique in their file, and every RFC 2119 keyword sits under one."""
    problems = []
    for path in sorted((ROOT / "spec").glob("*.md")):
        heading, seen = "", set()
        for number, line in prose_lines(path):
            if line.startswith("#"):
                heading = line
                anchors = ANCHOR.findall(line)
                if line.startswith("##") and len(anchors) != 1:
                    problems.append(f"{path.name}:{number}: heading without one anchor")
                problems.extend(f"{path.name}:{number}: anchor {a} twice" for a in anchors if a in seen)
                seen.update(anchors)
            elif NORMATIVE.search(line) and not ANCHOR.search(heading):
                problems.append(f"{path.name}:{number}: a rule outside an anchored section")
    assert problems == []


def test_every_link_of_the_spec_resolves() -> None:
    broken = []
    for path in LINKING:
        for number, line in prose_lines(path):
            for target in LINK.findall(line):
                if target.startswith(("http://", "https://")):
                    continue
                file_part, _, anchor = target.partition("#")
                linked = (path.parent / file_part).resolve() if file_part else path
                if not linked.exists() or (
                    anchor and linked.suffix == ".md" and anchor not in document_anchors(linked)
                ):
                    broken.append(f"{path.relative_to(ROOT)}:{number}: {target}")
    assert broken == []
