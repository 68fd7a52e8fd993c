"""conformance/run [--case NAME] [--json REPORT] [--no-work] -- <adapter command...>"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from ._adapter import Adapter, AdapterError, RpcError
from ._database import Observer, private_database
from ._engine import CONFORMANCE_DIR, CaseResult, CaseRunner, WorkPhase, load_json
from ._worker import work_all

PROFILE_METHODS = {
    "handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback",
    "unique_key",
}  # fmt: skip


def load_cases(only: list[str] | None) -> list[dict[str, Any]]:
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
        cases.append(case)
    if only:
        unknown = [n for n in only if not any(n in (c["name"], c["name"].split("/")[1]) for c in cases)]
        if unknown:
            raise SystemExit(f"no case named {', '.join(unknown)}")
        cases = [case for case in cases if case["name"] in only or case["name"].split("/")[1] in only]
    return cases


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


def load_fixtures() -> dict[str, dict[str, Any]]:
    path = CONFORMANCE_DIR / "fixtures" / "unique_keys.json"
    if not path.exists():
        return {}
    return {entry["name"]: fixture_params(entry) for entry in load_json(path)}


class AdapterSession:
    """The adapter process, restarted after it breaks the transport."""

    def __init__(self, command: list[str], env: dict[str, str], timeout: float) -> None:
        self._command = command
        self._env = env
        self._timeout = timeout
        self.adapter: Adapter | None = None
        self.capabilities: set[str] = set()

    def ensure(self) -> Adapter:
        if self.adapter is None:
            self.adapter = Adapter(self._command, self._env, self._timeout)
            try:
                hello = self.adapter.call("handshake", {})
            except (AdapterError, RpcError) as exc:
                self.adapter.close()
                tail = self.adapter.stderr_tail()
                self.close()
                raise AdapterError(f"handshake failed: {exc}\n--- adapter stderr (tail) ---\n{tail}") from exc
            missing = PROFILE_METHODS - set(hello.get("methods", []))
            if missing:
                self.close()
                raise AdapterError(f"handshake: methods of insert-only-v1 missing: {sorted(missing)}")
            self.capabilities = set(hello.get("capabilities", []))
        return self.adapter

    def close(self) -> None:
        if self.adapter is not None:
            self.adapter.close()
            self.adapter = None


def run(command: list[str], only: list[str] | None, report: Path | None, timeout: float, work: bool) -> int:
    cases = load_cases(only)
    fixtures = load_fixtures()
    results: list[CaseResult] = []
    with private_database() as url:
        observer = Observer(url)
        worker: WorkPhase | None = None
        if work:

            def worker(kinds: set[str], queues: set[str], done: Callable[[], bool]) -> None:
                work_all(url, kinds, queues, done)

        runner = CaseRunner(observer, fixtures, worker)
        env = {"RIVER_CONFORMANCE_DATABASE_URL": url, "RIVER_CONFORMANCE_DATABASE_KIND": "postgres"}
        session = AdapterSession(command, env, timeout)
        try:
            for case in cases:
                try:
                    adapter = session.ensure()
                except AdapterError as exc:
                    result = CaseResult(case["name"], [str(exc)], adapter_broken=True)
                else:
                    result = runner.run(case, adapter, session.capabilities)
                if result.adapter_broken:
                    session.close()
                    # Leftover open transactions die with the adapter; nothing else to clean.
                results.append(result)
                _print(result)
        finally:
            session.close()
            observer.close()
    passed = sum(r.passed and r.not_applicable is None for r in results)
    failed = sum(not r.passed for r in results)
    skipped = sum(r.not_applicable is not None for r in results)
    summary = f"{passed} passed, {failed} failed"
    print(summary + (f", {skipped} not applicable" if skipped else ""))
    if report is not None:
        report.write_text(
            json.dumps(
                {
                    "adapter": command,
                    "passed": passed,
                    "failed": failed,
                    "not_applicable": skipped,
                    "cases": [
                        {"name": r.name, "passed": r.passed, "not_applicable": r.not_applicable, "problems": r.problems}
                        for r in results
                    ],
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 1 if failed else 0


def _print(result: CaseResult) -> None:
    if result.not_applicable is not None:
        print(f"n/a   {result.name} ({result.not_applicable})")
    elif result.passed:
        print(f"ok    {result.name}")
    else:
        print(f"FAIL  {result.name}")
        for problem in result.problems:
            print("      " + problem.replace("\n", "\n      "))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance/run", description="Run the riverboat conformance suite.")
    parser.add_argument("--case", action="append", help="run only this case (section/name or name); repeatable")
    parser.add_argument("--json", type=Path, help="write a JSON report here")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each adapter response")
    parser.add_argument("--no-work", action="store_true", help="skip the worker phase")
    parser.add_argument("adapter", nargs=argparse.REMAINDER, help="-- then the adapter command")
    args = parser.parse_args(argv)
    command = args.adapter[1:] if args.adapter[:1] == ["--"] else args.adapter
    if not command:
        parser.error("give the adapter command after --")
    return run(command, args.case, args.json, args.timeout, not args.no_work)


if __name__ == "__main__":
    sys.exit(main())
