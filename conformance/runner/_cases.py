"""Cases and fixtures as data (README.md#cases), and the capabilities each case needs (ADAPTER.md#capabilities)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import jsonschema

CONFORMANCE_DIR = Path(__file__).resolve().parent.parent
TX_CALLS = {"tx_begin", "tx_insert", "tx_insert_many", "tx_commit", "tx_rollback"}
#: Every capability a case can require, in the order the summary lists them.
CAPABILITIES = (
    "transactions", "unique_jobs", "unique_key", "unique_by_args_paths", "validation", "kind_validation",
    "reserved_metadata", "args_contract",
)  # fmt: skip


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_fixtures() -> dict[str, dict[str, Any]]:
    """fixtures/unique_keys.json by entry name: each entry's unique_key ``params`` and ``expected`` result."""
    entries = load_json(CONFORMANCE_DIR / "fixtures" / "unique_keys.json")
    return {entry["name"]: entry for entry in entries}


def select_fixtures(fixtures: dict[str, dict[str, Any]], pattern: str) -> dict[str, dict[str, Any]]:
    """The fixtures whose names match a step's ``fixture`` (a name or an fnmatch pattern)."""
    return {name: params for name, params in fixtures.items() if fnmatch.fnmatchcase(name, pattern)}


def sent_jobs(call: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The insert params of each job a call sends, in order (unique_key's params are an insert's plus ``now``)."""
    if call in ("insert", "unique_key"):
        return [params]
    if call == "tx_insert":
        return [params["job"]]
    if call in ("insert_many", "tx_insert_many"):
        return list(params["jobs"])
    return []


def step_needs(step: dict[str, Any], fixtures: dict[str, dict[str, Any]]) -> set[str]:
    """The capabilities a step uses, read from what it sends."""
    call = step["call"]
    needs: set[str] = set()
    if call in TX_CALLS:
        needs.add("transactions")
    if call == "contract_load":
        needs.add("args_contract")
    if call == "unique_key":
        needs.add("unique_key")
    requests = (
        [entry["params"] for entry in select_fixtures(fixtures, step["fixture"]).values()] if "fixture" in step else []
    )
    for job in requests + sent_jobs(call, step.get("params", {})):
        unique = (job.get("opts") or {}).get("unique_opts")
        if unique is not None:
            needs.add("unique_jobs")
            if isinstance(unique.get("by_args"), list):
                needs.add("unique_by_args_paths")
    return needs


def case_needs(case: dict[str, Any], fixtures: dict[str, dict[str, Any]]) -> set[str]:
    needs: set[str] = set()
    for step in case["steps"]:
        needs |= step_needs(step, fixtures)
    return needs


def load_cases(only: list[str] | None, fixtures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every case, checked: valid, named by its path, and requiring every capability its steps use."""
    validator = jsonschema.Draft202012Validator(load_json(CONFORMANCE_DIR / "schema" / "case.schema.json"))
    cases = []
    for path in sorted((CONFORMANCE_DIR / "cases").glob("*/*.json")):
        case = load_json(path)
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(case)]
        if errors:
            raise SystemExit(f"{path}: invalid case: {'; '.join(errors)}")
        expected_name = f"{path.parent.name}/{path.stem}"
        if case["name"] != expected_name:
            raise SystemExit(f"{path}: name must be {expected_name!r}")
        for step in case["steps"]:
            if "fixture" in step and not select_fixtures(fixtures, step["fixture"]):
                raise SystemExit(f"{path}: no fixture matches {step['fixture']!r}")
        undeclared = case_needs(case, fixtures) - set(case.get("requires", []))
        if undeclared:
            raise SystemExit(f"{path}: its steps use {', '.join(sorted(undeclared))}; list them in requires")
        cases.append(case)
    if only:
        unknown = [n for n in only if not any(n in (c["name"], c["name"].split("/")[1]) for c in cases)]
        if unknown:
            raise SystemExit(f"no case named {', '.join(unknown)}")
        cases = [case for case in cases if case["name"] in only or case["name"].split("/")[1] in only]
    return cases
