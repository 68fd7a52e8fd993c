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
    """fixtures/unique_keys.json by entry name, each entry as unique_key params plus its expectations."""
    entries = load_json(CONFORMANCE_DIR / "fixtures" / "unique_keys.json")
    return {entry["name"]: fixture_params(entry) for entry in entries}


def fixture_params(entry: dict[str, Any]) -> dict[str, Any]:
    """A fixtures/unique_keys.json entry as unique_key params (ADAPTER.md#unique-key) plus its expectations."""
    options = entry["options"]
    by_args = options.get("by_args", False)
    period = options.get("by_period_seconds")
    params: dict[str, Any] = {
        "name": entry["name"],
        "kind": entry["kind"],
        "queue": options.get("queue", "default"),
        "now": entry["now"],
        "scheduled_at": options.get("scheduled_at"),
        "options": {
            "by_args": by_args is True or isinstance(by_args, list),
            "by_period_nanos": 0 if period is None else int(period * 1_000_000_000),
            "by_queue": bool(options.get("by_queue")),
            "exclude_kind": bool(options.get("exclude_kind")),
        },
        "selected_unique_paths": by_args if isinstance(by_args, list) else None,
        "expected_sha256": entry["expected_sha256"],
        "expected_state_mask": entry["expected_unique_states"],
    }
    if options.get("by_state") is not None:
        params["options"]["by_state"] = options["by_state"]
    # The fixture keeps args as encoded text: the key hashes those exact bytes.
    params["args_json" if isinstance(entry["args"], str) else "args"] = entry["args"]
    return params


def select_fixtures(fixtures: dict[str, dict[str, Any]], pattern: str) -> dict[str, dict[str, Any]]:
    """The fixtures whose names match a step's ``fixture`` (a name or an fnmatch pattern)."""
    return {name: params for name, params in fixtures.items() if fnmatch.fnmatchcase(name, pattern)}


def sent_jobs(call: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The insert params of each job an insert call sends, in order."""
    if call == "insert":
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
        requests = list(select_fixtures(fixtures, step["fixture"]).values()) if "fixture" in step else [step["params"]]
        if any(request.get("selected_unique_paths") is not None for request in requests):
            needs.add("unique_by_args_paths")
    for job in sent_jobs(call, step.get("params", {})):
        unique = job.get("opts", {}).get("unique")
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
