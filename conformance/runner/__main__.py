"""conformance/run [options] -- <adapter command...> (README.md#running)"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._adapter import Adapter, AdapterError, RpcError
from ._cases import CAPABILITIES, load_cases, load_fixtures
from ._database import Observer, private_database
from ._engine import CaseResult, CaseRunner, WorkPhase
from ._worker import work_all

PROFILE_METHODS = {
    "handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback",
    "unique_key",
}  # fmt: skip


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


def run(
    command: list[str], only: list[str] | None, timeout: float, work: bool, schema: str | None
) -> tuple[list[CaseResult], set[str]]:
    """Every selected case against the adapter; the results and the capabilities the adapter declared."""
    fixtures = load_fixtures()
    cases = load_cases(only, fixtures)
    results: list[CaseResult] = []
    with private_database(schema) as url:
        observer = Observer(url, schema)
        worker: WorkPhase | None = None
        if work:

            def worker(kinds: set[str], queues: set[str], done: Callable[[], bool]) -> None:
                work_all(url, schema, kinds, queues, done)

        runner = CaseRunner(observer, fixtures, worker)
        env = {
            "RIVER_CONFORMANCE_DATABASE_URL": url,
            "RIVER_CONFORMANCE_DATABASE_KIND": "postgres",
            "RIVER_CONFORMANCE_SCHEMA": schema or "",
        }
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
                    # Leftover open transactions die with the adapter; nothing else to clean.
                    session.close()
                results.append(result)
                _print(result)
        finally:
            session.close()
            observer.close()
    return results, session.capabilities


def not_applicable_groups(results: list[CaseResult]) -> dict[str, list[str]]:
    """Not-applicable cases grouped by the capabilities the adapter does not declare."""
    groups: dict[str, list[str]] = {}
    for result in results:
        if result.not_applicable:
            groups.setdefault(" + ".join(result.missing), []).append(result.name)
    return dict(sorted(groups.items()))


def summarize(
    results: list[CaseResult], expect_passed: int | None, expect_na: set[str] | None
) -> tuple[dict[str, Any], list[str]]:
    """The counts, the n/a groups and every expectation the run did not meet."""
    passed = sum(r.passed for r in results)
    failed = sum(bool(r.problems) for r in results)
    skipped = sum(r.not_applicable for r in results)
    groups = not_applicable_groups(results)
    missing = {cap for r in results for cap in r.missing}
    unmet = []
    if expect_passed is not None and passed != expect_passed:
        unmet.append(f"{passed} cases passed, expected exactly {expect_passed}")
    if expect_na is not None and missing != expect_na:
        unmet.append(
            f"cases are not applicable for want of {sorted(missing) or 'nothing'}, "
            f"expected only for want of {sorted(expect_na) or 'nothing'}"
        )
    counts = {"passed": passed, "failed": failed, "not_applicable": skipped, "not_applicable_because": groups}
    return counts, unmet


def _print(result: CaseResult) -> None:
    if result.not_applicable:
        print(f"n/a   {result.name} (not declared: {', '.join(result.missing)})")
    elif result.passed:
        print(f"ok    {result.name}")
    else:
        print(f"FAIL  {result.name}")
        for problem in result.problems:
            print("      " + problem.replace("\n", "\n      "))
    sys.stdout.flush()


def _capability_list(text: str) -> set[str]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(CAPABILITIES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown capabilities {sorted(unknown)}; known: {', '.join(CAPABILITIES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance/run", description="Run the riverboat conformance suite.")
    parser.add_argument("--case", action="append", help="run only this case (section/name or name); repeatable")
    parser.add_argument("--json", type=Path, help="write a JSON report here")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each adapter response")
    parser.add_argument("--no-work", action="store_true", help="skip the worker phase")
    parser.add_argument(
        "--schema",
        help="migrate River's tables into this new schema, not the search path, and tell the adapter so "
        "(RIVER_CONFORMANCE_SCHEMA)",
    )
    parser.add_argument("--expect-passed", type=int, metavar="N", help="fail unless exactly N cases pass")
    parser.add_argument(
        "--expect-na-capabilities",
        type=_capability_list,
        metavar="CAP,...",
        help="fail unless the cases not applicable are exactly those needing these undeclared capabilities "
        "('' for none)",
    )
    parser.add_argument("adapter", nargs=argparse.REMAINDER, help="-- then the adapter command")
    args = parser.parse_args(argv)
    command = args.adapter[1:] if args.adapter[:1] == ["--"] else args.adapter
    if not command:
        parser.error("give the adapter command after --")
    results, declared = run(command, args.case, args.timeout, not args.no_work, args.schema)
    counts, unmet = summarize(results, args.expect_passed, args.expect_na_capabilities)
    for group, names in counts["not_applicable_because"].items():
        print(f"n/a, {group} not declared ({len(names)}): {', '.join(names)}")
    summary = f"{counts['passed']} passed, {counts['failed']} failed, {counts['not_applicable']} not applicable"
    print(summary)
    for problem in unmet:
        print(f"expectation not met: {problem}")
    if args.json is not None:
        report = {
            "adapter": command,
            "capabilities": sorted(declared),
            "schema": args.schema,
            **counts,
            "unmet_expectations": unmet,
            "cases": [
                {"name": r.name, "passed": r.passed, "not_declared": r.missing, "problems": r.problems} for r in results
            ],
        }
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 1 if counts["failed"] or unmet else 0


if __name__ == "__main__":
    sys.exit(main())
