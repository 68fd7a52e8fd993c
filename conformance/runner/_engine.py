"""Runs one case against an adapter and returns the problems found (README.md#checks)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from ._adapter import Adapter, AdapterError, RpcError
from ._database import Observer
from ._values import Matcher, lookup, parse_time

CONFORMANCE_DIR = Path(__file__).resolve().parent.parent
INSERT_CALLS = {"insert", "tx_insert"}
BATCH_CALLS = {"insert_many", "tx_insert_many"}
CLOCK_SLACK = timedelta(minutes=5)
UNSUPPORTED = -32004
#: Runs the worker on (kinds, queues) until the predicate holds.
WorkPhase = Callable[[set[str], set[str], Callable[[], bool]], None]
# Columns the insert decides; the others may change after it (sql steps, the worker phase).
INSERT_COLUMNS = (
    "id", "args", "created_at", "kind", "max_attempts", "metadata", "priority", "queue", "scheduled_at", "tags",
    "unique_key", "unique_states",
)  # fmt: skip


class Unsupported(Exception):
    """The adapter answered -32004: its client cannot express this case."""


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class CaseResult:
    name: str
    problems: list[str] = field(default_factory=list)
    not_applicable: str | None = None
    adapter_broken: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class _Sent:
    """A job the adapter reported as written, with what the case sent for it."""

    job: dict[str, Any]
    params: dict[str, Any]
    duplicate: bool
    handle: str | None


class CaseRunner:
    def __init__(
        self,
        observer: Observer,
        fixtures: dict[str, dict[str, Any]],
        worker: WorkPhase | None,
    ) -> None:
        self._observer = observer
        self._fixtures = fixtures
        self._worker = worker
        self._job_schema = load_json(CONFORMANCE_DIR / "schema" / "normalized-job.schema.json")

    def run(self, case: dict[str, Any], adapter: Adapter, capabilities: set[str]) -> CaseResult:
        result = CaseResult(case["name"])
        missing = [need for need in case.get("requires", []) if need not in capabilities]
        if missing:
            result.not_applicable = f"adapter lacks {', '.join(missing)}"
            return result
        self._observer.reset()
        sent: list[_Sent] = []
        results: list[Any] = []
        matcher = Matcher(results, datetime.now(UTC), CLOCK_SLACK)
        try:
            for index, step in enumerate(case["steps"]):
                outcome = self._step(step, adapter, sent, results, matcher)
                result.problems.extend(f"step {index} ({step['call']}): {p}" for p in outcome)
                if outcome:
                    break
        except Unsupported as exc:
            result.not_applicable = f"unsupported by the adapter: {exc}"
            self._rollback_open(adapter, case)
            return result
        except AdapterError as exc:
            result.adapter_broken = True
            # Stop it first so that everything it wrote to stderr is in the tail.
            adapter.close()
            result.problems.append(f"adapter failure: {exc}\n--- adapter stderr (tail) ---\n{adapter.stderr_tail()}")
            return result
        # A failed case can leave transactions open; their locks would block the next reset.
        self._rollback_open(adapter, case)
        if not result.problems:
            result.problems.extend(self._final_checks(case, sent, results))
        if not result.problems and "work" in case and self._worker is not None:
            result.problems.extend(self._work(case["work"]["final_state"], sent))
        return result

    def _rollback_open(self, adapter: Adapter, case: dict[str, Any]) -> None:
        for handle in {step["params"]["handle"] for step in case["steps"] if step["call"] == "tx_begin"}:
            try:
                adapter.call("tx_rollback", {"handle": handle})
            except RpcError:
                continue

    def _work(self, final_state: str, sent: list[_Sent]) -> list[str]:
        assert self._worker is not None
        rows = self._observer.rows()

        def done() -> bool:
            return all(row["state"] == final_state for row in self._observer.rows())

        try:
            self._worker({row["kind"] for row in rows}, {row["queue"] for row in rows}, done)
        except Exception as exc:  # any worker failure is this case's failure, not the run's
            return [f"worker phase: {type(exc).__name__}: {exc}"]
        worked = {row["id"]: row for row in self._observer.rows()}
        problems = []
        for item in sent:
            row = worked.get(item.job["id"])
            if row is None:
                problems.append(f"worker phase: job {item.job['id']} disappeared")
            elif row["state"] != final_state:
                problems.append(f"worker phase: job {row['id']} is {row['state']}, expected {final_state}")
            elif not item.duplicate:
                problems.extend(f"worker phase: job {row['id']}: {p}" for p in _sent_values_kept(item.params, row))
        return problems

    def _all_fixtures(self, adapter: Adapter, results: list[Any]) -> list[str]:
        """Every fixtures/unique_keys.json entry through unique_key; entries the adapter cannot express are left out."""
        results.append(None)
        if not self._fixtures:
            return ["fixtures/unique_keys.json is missing or has no cases"]
        problems = []
        unsupported = 0
        for name, fixture in self._fixtures.items():
            try:
                answer = adapter.call("unique_key", fixture)
            except RpcError as exc:
                if exc.code == UNSUPPORTED:
                    unsupported += 1
                else:
                    problems.append(f"fixture {name}: error {exc.code} {exc.message!r}")
                continue
            expected = {"sha256": fixture["expected_sha256"], "state_mask": fixture["expected_state_mask"]}
            if answer != expected:
                problems.append(f"fixture {name}: got {answer}, expected {expected}")
        if unsupported == len(self._fixtures):
            raise Unsupported("unique_key: every fixture")
        return problems

    def _params(self, step: dict[str, Any], results: list[Any]) -> dict[str, Any]:
        if "fixture" in step:
            fixture = self._fixtures.get(step["fixture"])
            if fixture is None:
                raise KeyError(f"no fixture named {step['fixture']!r} in fixtures/unique_keys.json")
            return dict(fixture)
        params: dict[str, Any] = step.get("params", {})
        return params

    def _step(
        self,
        step: dict[str, Any],
        adapter: Adapter,
        sent: list[_Sent],
        results: list[Any],
        matcher: Matcher,
    ) -> list[str]:
        call = step["call"]
        if call == "sql":
            self._observer.execute(
                re.sub(r"\{([0-9][\w.]*)\}", lambda m: str(lookup(results, m.group(1))), step["sql"])
            )
            results.append(None)
            return []
        if call == "visible_rows":
            seen = self._observer.count()
            results.append(seen)
            return [] if seen == step["count"] else [f"another connection sees {seen} rows, expected {step['count']}"]
        if step.get("fixture") == "*":
            return self._all_fixtures(adapter, results)
        try:
            params = self._params(step, results)
        except KeyError as exc:
            results.append(None)
            return [str(exc.args[0])]
        before = self._observer.count()
        try:
            answer = adapter.call(call, params)
        except RpcError as exc:
            results.append({"error": {"code": exc.code, "message": exc.message, "data": exc.data}})
            if exc.code == UNSUPPORTED and "error" not in step:
                raise Unsupported(f"{call}: {exc.message}") from exc
            return self._check_error(step, exc, before, call)
        results.append(answer)
        if "error" in step and "expect" not in step:
            return [f"expected error {step['error']}, got result {json.dumps(answer)[:300]}"]
        problems: list[str] = []
        if call in INSERT_CALLS | BATCH_CALLS:
            problems.extend(self._record_inserts(call, params, answer, sent))
        if call == "tx_rollback":
            problems.extend(self._check_rolled_back(params["handle"], sent))
        if call == "unique_key" and "fixture" in step and "expect" not in step:
            fixture = self._fixtures[step["fixture"]]
            expected = {"sha256": fixture["expected_sha256"], "state_mask": fixture["expected_state_mask"]}
            problems.extend(matcher.match(expected, answer))
        if "expect" in step:
            problems.extend(matcher.match(step["expect"], answer))
        return problems

    def _check_error(self, step: dict[str, Any], exc: RpcError, before: int, call: str) -> list[str]:
        want = step.get("error")
        if want is None:
            return [f"unexpected error {exc.code} {exc.message!r} data={json.dumps(exc.data)[:300]}"]
        codes = want["code"] if isinstance(want["code"], list) else [want["code"]]
        problems = []
        if exc.code not in codes:
            problems.append(f"error code {exc.code} ({exc.message!r}), expected {codes}")
        data = exc.data if isinstance(exc.data, dict) else {}
        if exc.code == -32602 and "field" in want and data.get("field") != want["field"]:
            problems.append(f"error data.field {data.get('field')!r}, expected {want['field']!r}")
        if "pointer" in want and data.get("pointer") != want["pointer"]:
            problems.append(f"error data.pointer {data.get('pointer')!r}, expected {want['pointer']!r}")
        if not call.startswith("tx_") and self._observer.count() != before:
            problems.append("the rejected request wrote rows")
        return problems

    def _record_inserts(self, call: str, params: dict[str, Any], answer: Any, sent: list[_Sent]) -> list[str]:
        handle = params.get("handle")
        if call in INSERT_CALLS:
            pairs = [(params["job"] if call == "tx_insert" else params, answer)]
        else:
            items = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(items, list) or len(items) != len(params["jobs"]):
                return [f"expected {len(params['jobs'])} results in input order, got {json.dumps(answer)[:300]}"]
            pairs = list(zip(params["jobs"], items, strict=True))
        problems: list[str] = []
        for position, (job_params, item) in enumerate(pairs):
            where = f"result {position}"
            if not isinstance(item, dict) or not isinstance(item.get("unique_skipped_as_duplicate"), bool):
                problems.append(f"{where}: not an insert result: {json.dumps(item)[:300]}")
                continue
            job = item.get("job")
            if not isinstance(job, dict):
                problems.append(f"{where}: job is not an object")
                continue
            for error in jsonschema.Draft202012Validator(self._job_schema).iter_errors(job):
                problems.append(f"{where}: job {'/'.join(map(str, error.path))}: {error.message[:200]}")
            if problems:
                continue
            duplicate = item["unique_skipped_as_duplicate"]
            if not duplicate:
                problems.extend(f"{where}: {p}" for p in _sent_values_kept(job_params, job))
            sent.append(_Sent(job, job_params, duplicate, handle))
        return problems

    def _check_rolled_back(self, handle: str, sent: list[_Sent]) -> list[str]:
        present = {row["id"] for row in self._observer.rows()}
        ended = [s for s in sent if s.handle == handle]
        for item in ended:
            sent.remove(item)
        return [
            f"job {s.job['id']} inserted in rolled-back {handle} still exists"
            for s in ended
            if not s.duplicate and s.job["id"] in present
        ]

    def _final_checks(self, case: dict[str, Any], sent: list[_Sent], results: list[Any]) -> list[str]:
        problems: list[str] = []
        rows = self._observer.rows()
        validator = jsonschema.Draft202012Validator(self._job_schema)
        for row in rows:
            for error in validator.iter_errors(row):
                problems.append(f"row {row['id']}: {'/'.join(map(str, error.path))}: {error.message[:200]}")
        by_id = {row["id"]: row for row in rows}
        for item in sent:
            found = by_id.get(item.job["id"])
            if found is None:
                problems.append(f"job {item.job['id']} returned by the adapter is not in river_job")
                continue
            if item.duplicate:
                continue
            for column in INSERT_COLUMNS:
                value = item.job[column]
                if value != found[column] and not _same_time(value, found[column]):
                    problems.append(
                        f"job {found['id']}.{column}: adapter returned {value!r:.100}, row has {found[column]!r:.100}"
                    )
        allowed_rows = case.get("rows", len(rows))
        if len(rows) not in (allowed_rows if isinstance(allowed_rows, list) else [allowed_rows]):
            problems.append(f"river_job has {len(rows)} rows, expected {allowed_rows}")
        delivered = self._observer.drain_notifications()
        for queue, wanted in case.get("notify", {}).items():
            if (queue in delivered) != wanted:
                verb = "no" if wanted else "an"
                problems.append(f"{verb} insert notification for queue {queue!r} was delivered (got {delivered})")
        if "pickup_order" in case:
            expected_ids = [lookup(results, ref) for ref in case["pickup_order"]]
            actual_ids = self._observer.fetch_order()
            if actual_ids != expected_ids:
                problems.append(f"fetch order {actual_ids}, expected {expected_ids}")
        return problems


def _same_time(left: Any, right: Any) -> bool:
    parsed = parse_time(left)
    return parsed is not None and parsed == parse_time(right)


def _sent_values_kept(params: dict[str, Any], job: dict[str, Any]) -> list[str]:
    """The row must hold the args, kind and metadata that were sent."""
    problems = []
    args = json.loads(params["args_json"]) if "args_json" in params else params.get("args")
    if job["args"] != args:
        problems.append(f"args {json.dumps(job['args'], ensure_ascii=False)[:200]} differ from those sent")
    if job["kind"] != params["kind"]:
        problems.append(f"kind {job['kind']!r}, sent {params['kind']!r}")
    metadata = params.get("opts", {}).get("metadata")
    if metadata is not None and job["metadata"] != metadata:
        problems.append(f"metadata {job['metadata']!r:.200} differs from {metadata!r:.200}")
    return problems
