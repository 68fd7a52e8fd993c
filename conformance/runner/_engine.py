"""Runs one case against an adapter and returns the problems found (README.md#checks).

The runner trusts nothing the adapter says: every row an insert writes is read back and judged
column by column against the spec (``_expected``), and every job the adapter reports is
compared with the row it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema

from ._adapter import Adapter, AdapterError, RpcError
from ._cases import CONFORMANCE_DIR, load_json, select_fixtures, sent_jobs, step_needs
from ._database import Observer
from ._expected import Window, insert_problems, sent_args
from ._values import Matcher, lookup, same_column, same_json

INSERT_CALLS = {"insert", "tx_insert"}
BATCH_CALLS = {"insert_many", "tx_insert_many"}
# How far $near_now may be from the runner's clock.
NEAR_NOW_SLACK = timedelta(minutes=5)
UNSUPPORTED = -32004
#: Runs the worker on (kinds, queues) until the predicate holds.
WorkPhase = Callable[[set[str], set[str], Callable[[], bool]], None]
# Columns the insert decides; the others may change after it (sql steps, the worker phase).
INSERT_COLUMNS = (
    "id", "args", "created_at", "kind", "max_attempts", "metadata", "priority", "queue", "scheduled_at", "tags",
    "unique_key", "unique_states",
)  # fmt: skip
COLUMNS = (*INSERT_COLUMNS, "attempt", "attempted_at", "attempted_by", "errors", "finalized_at", "state")


@dataclass
class CaseResult:
    name: str
    problems: list[str] = field(default_factory=list)
    #: The capabilities the case requires and the adapter does not declare; the case did not run.
    missing: list[str] = field(default_factory=list)
    adapter_broken: bool = False

    @property
    def not_applicable(self) -> bool:
        return bool(self.missing)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.missing


@dataclass
class _Sent:
    """A job the adapter reported as written, with what the case sent for it."""

    label: str
    job: dict[str, Any]
    params: dict[str, Any]
    duplicate: bool
    handle: str | None
    window: Window


@dataclass
class _Run:
    """One case's progress: step results, reported jobs, open transactions."""

    results: list[Any]
    matcher: Matcher
    sent: list[_Sent] = field(default_factory=list)
    #: handle -> when tx_begin was sent (a transaction's clock may be read from then on).
    began: dict[str, datetime] = field(default_factory=dict)
    #: handle -> jobs inserted under it, judged when it commits (until then no other connection sees them).
    unseen: dict[str, list[_Sent]] = field(default_factory=dict)
    #: IDs of the rows that existed, or that the adapter had reported, when the current request was sent.
    known: set[int] = field(default_factory=set)


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
        self._job_validator = jsonschema.Draft202012Validator(
            load_json(CONFORMANCE_DIR / "schema" / "normalized-job.schema.json")
        )

    def run(self, case: dict[str, Any], adapter: Adapter, capabilities: set[str]) -> CaseResult:
        result = CaseResult(case["name"])
        result.missing = sorted(need for need in case.get("requires", []) if need not in capabilities)
        if result.missing:
            return result
        self._observer.reset()
        results: list[Any] = []
        run = _Run(results, Matcher(results, datetime.now(UTC), NEAR_NOW_SLACK))
        timeout = case.get("request_timeout")
        try:
            for index, step in enumerate(case["steps"]):
                outcome = self._step(step, adapter, run, timeout)
                result.problems.extend(f"step {index} ({step['call']}): {p}" for p in outcome)
                if outcome:
                    break
            # A failed case can leave transactions open; their locks would block the next reset.
            self._rollback_open(adapter, case, run)
        except AdapterError as exc:
            result.adapter_broken = True
            # Stop it first so that everything it wrote to stderr is in the tail.
            adapter.close()
            result.problems.append(f"adapter failure: {exc}\n--- adapter stderr (tail) ---\n{adapter.stderr_tail()}")
            return result
        if not result.problems:
            result.problems.extend(self._final_checks(case, run))
        if not result.problems and "work" in case and self._worker is not None:
            result.problems.extend(self._work(case["work"]["final_state"], run.sent))
        return result

    def _rollback_open(self, adapter: Adapter, case: dict[str, Any], run: _Run) -> None:
        for handle in {step["params"]["handle"] for step in case["steps"] if step["call"] == "tx_begin"}:
            try:
                adapter.call("tx_rollback", {"handle": handle})
            except RpcError:
                continue
            run.sent = [item for item in run.sent if item.handle != handle]
            run.unseen.pop(handle, None)

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
            elif not same_json(row["args"], sent_args(item.params)):
                problems.append(f"worker phase: job {row['id']}.args changed to {json.dumps(row['args'])[:200]}")
        return problems

    def _fixtures_step(self, step: dict[str, Any], adapter: Adapter, run: _Run, timeout: float | None) -> list[str]:
        """unique_key for every fixture the step selects, each against its expected key."""
        run.results.append(None)
        problems = []
        for name, fixture in select_fixtures(self._fixtures, step["fixture"]).items():
            expected = fixture["expected"]
            try:
                answer = adapter.call("unique_key", fixture["params"], timeout)
            except RpcError as exc:
                problems.append(f"fixture {name}: {_describe_error(exc, step_needs(step, self._fixtures))}")
                continue
            if answer != expected:
                problems.append(f"fixture {name}: got {answer}, expected {expected}")
        return problems

    def _step(self, step: dict[str, Any], adapter: Adapter, run: _Run, timeout: float | None) -> list[str]:
        call = step["call"]
        if call == "sql":
            self._observer.execute(
                re.sub(r"\{([0-9][\w.]*)\}", lambda m: str(lookup(run.results, m.group(1))), step["sql"])
            )
            run.results.append(None)
            return []
        if call == "visible_rows":
            seen = self._observer.count()
            run.results.append(seen)
            return [] if seen == step["count"] else [f"another connection sees {seen} rows, expected {step['count']}"]
        if "fixture" in step:
            return self._fixtures_step(step, adapter, run, timeout)
        params: dict[str, Any] = step.get("params", {})
        handle = str(params.get("handle"))
        run.known = {row["id"] for row in self._observer.rows()} | {item.job["id"] for item in run.sent}
        start = datetime.now(UTC)
        if call == "tx_begin":
            run.began[handle] = start
        try:
            answer = adapter.call(call, params, timeout)
        except RpcError as exc:
            run.results.append({"error": {"code": exc.code, "message": exc.message, "data": exc.data}})
            return self._check_error(step, exc, run.known)
        window = Window(run.began.get(handle, start) if call.startswith("tx_") else start, datetime.now(UTC))
        run.results.append(answer)
        if "error" in step and "expect" not in step:
            return [f"expected error {step['error']}, got result {json.dumps(answer)[:300]}"]
        problems: list[str] = []
        if call in INSERT_CALLS | BATCH_CALLS:
            problems.extend(self._record_inserts(call, params, answer, run, window))
        if call == "tx_commit":
            problems.extend(self._judge_rows(run.unseen.pop(handle, [])))
        if call == "tx_rollback":
            run.unseen.pop(handle, None)
            problems.extend(self._check_rolled_back(handle, run))
        if "expect" in step:
            problems.extend(run.matcher.match(step["expect"], answer))
        return problems

    def _check_error(self, step: dict[str, Any], exc: RpcError, known: set[int]) -> list[str]:
        want = step.get("error")
        if want is None:
            return [_describe_error(exc, step_needs(step, self._fixtures))]
        codes = want["code"] if isinstance(want["code"], list) else [want["code"]]
        problems = []
        if exc.code not in codes:
            problems.append(f"error code {exc.code} ({exc.message!r}), expected {codes}")
        data = exc.data if isinstance(exc.data, dict) else {}
        if exc.code == -32602 and "field" in want and data.get("field") != want["field"]:
            problems.append(f"error data.field {data.get('field')!r}, expected {want['field']!r}")
        if "pointer" in want and data.get("pointer") != want["pointer"]:
            problems.append(f"error data.pointer {data.get('pointer')!r}, expected {want['pointer']!r}")
        if not step["call"].startswith("tx_"):
            written = sorted({row["id"] for row in self._observer.rows()} - known)
            if written:
                problems.append(f"the rejected request wrote rows {written}")
        return problems

    def _record_inserts(self, call: str, params: dict[str, Any], answer: Any, run: _Run, window: Window) -> list[str]:
        jobs = sent_jobs(call, params)
        items = [answer] if call in INSERT_CALLS else answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(items, list) or len(items) != len(jobs):
            return [f"expected {len(jobs)} results in input order, got {json.dumps(answer)[:300]}"]
        handle = params.get("handle")
        known = run.known
        inserted: set[int] = set()
        recorded: list[_Sent] = []
        problems: list[str] = []
        for position, (job_params, item) in enumerate(zip(jobs, items, strict=True)):
            where = f"result {position}"
            if not isinstance(item, dict) or not isinstance(item.get("unique_skipped_as_duplicate"), bool):
                problems.append(f"{where}: not an insert result: {json.dumps(item)[:300]}")
                continue
            job = item.get("job")
            if not isinstance(job, dict):
                problems.append(f"{where}: job is not an object")
                continue
            invalid = [f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in self._job_validator.iter_errors(job)]
            if invalid:
                problems.extend(f"{where}: job {text}" for text in invalid)
                continue
            duplicate = item["unique_skipped_as_duplicate"]
            job_id = job["id"]
            if duplicate and job_id not in known | inserted:
                problems.append(
                    f"{where}: unique_skipped_as_duplicate is true, but job {job_id} did not exist before this request"
                )
            if not duplicate and job_id in known | inserted:
                problems.append(f"{where}: unique_skipped_as_duplicate is false, but job {job_id} already existed")
            inserted |= set() if duplicate else {job_id}
            recorded.append(_Sent(where, job, job_params, duplicate, handle, window))
        run.sent.extend(recorded)
        if handle is not None:
            run.unseen.setdefault(handle, []).extend(recorded)
            return problems
        written = {row["id"] for row in self._observer.rows()} - known
        if written != inserted:
            problems.append(
                f"the request wrote rows {sorted(written)}, its results report {sorted(inserted)} as inserted"
            )
        return problems + self._judge_rows(recorded)

    def _judge_rows(self, items: list[_Sent]) -> list[str]:
        """Each reported job against its row, and each newly inserted row against the spec."""
        if not items:
            return []
        rows = {row["id"]: row for row in self._observer.rows()}
        problems = []
        for item in items:
            row = rows.get(item.job["id"])
            if row is None:
                problems.append(f"{item.label}: job {item.job['id']} is not in river_job")
                continue
            problems.extend(f"{item.label}: {p}" for p in _differences(item.job, row, COLUMNS))
            if item.duplicate:
                continue
            problems.extend(f"{item.label}: {p}" for p in insert_problems(item.params, row, item.window))
            # Encoded args are stored as given: jsonb keeps each number as written (1.0 is not 1).
            text = item.params.get("args_json")
            stored = None if text is None else self._observer.stored_args_differ(row["id"], text)
            if stored is not None:
                problems.append(f"{item.label}: row {row['id']}.args is {stored[:200]}, not the args_json sent")
        return problems

    def _check_rolled_back(self, handle: str, run: _Run) -> list[str]:
        present = {row["id"] for row in self._observer.rows()}
        ended = [s for s in run.sent if s.handle == handle]
        run.sent = [s for s in run.sent if s.handle != handle]
        return [
            f"job {s.job['id']} inserted in rolled-back {handle} still exists"
            for s in ended
            if not s.duplicate and s.job["id"] in present
        ]

    def _final_checks(self, case: dict[str, Any], run: _Run) -> list[str]:
        problems: list[str] = []
        rows = self._observer.rows()
        for row in rows:
            for error in self._job_validator.iter_errors(row):
                problems.append(f"row {row['id']}: {'/'.join(map(str, error.path))}: {error.message[:200]}")
        by_id = {row["id"]: row for row in rows}
        for item in run.sent:
            found = by_id.get(item.job["id"])
            if found is None:
                problems.append(f"job {item.job['id']} returned by the adapter is not in river_job")
                continue
            problems.extend(f"now {p}" for p in _differences(item.job, found, INSERT_COLUMNS))
        reported = {item.job["id"] for item in run.sent}
        problems.extend(
            f"row {row_id} is in river_job, but no insert reported it" for row_id in by_id.keys() - reported
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
            expected_ids = [lookup(run.results, ref) for ref in case["pickup_order"]]
            actual_ids = self._observer.fetch_order()
            if actual_ids != expected_ids:
                problems.append(f"fetch order {actual_ids}, expected {expected_ids}")
        return problems


def _differences(job: dict[str, Any], row: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    """Where the job an adapter reported differs from the row it names."""
    return [
        f"job {row['id']}.{column}: the adapter reported {job[column]!r:.200}, the row has {row[column]!r:.200}"
        for column in columns
        if not same_column(column, job[column], row[column])
    ]


def _describe_error(exc: RpcError, needs: set[str]) -> str:
    data = f" data={json.dumps(exc.data)[:300]}" if exc.data is not None else ""
    if exc.code == UNSUPPORTED:
        declared = ", ".join(sorted(needs)) or "insert"
        return f"answered -32004 unsupported ({exc.message!r}), but the adapter declares {declared}{data}"
    return f"unexpected error {exc.code} {exc.message!r}{data}"
