"""Normalized values (ADAPTER.md#values) and the matchers cases use (README.md#matchers)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from riverboat._time import format_time

_FRACTION = re.compile(r"\.(\d+)")
STATES = ("available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled")
# Integer weight of each state in a unique-states bitmask (spec/02-lifecycle.md).
STATE_WEIGHTS = {state: 1 << index for index, state in enumerate(STATES)}


def states_from_bits(bits: str) -> list[str]:
    mask = int(bits, 2)
    return [state for state in STATES if mask & STATE_WEIGHTS[state]]


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    """A river_job row as psycopg returns it, in the normalized job form (which the Python adapters answer with too)."""

    def stamp(value: datetime | None) -> str | None:
        # The one form every adapter writes (ADAPTER.md#values), riverboat's formatter.
        return None if value is None else format_time(value)

    return {
        "id": row["id"],
        "args": row["args"],
        "attempt": row["attempt"],
        "attempted_at": stamp(row["attempted_at"]),
        "attempted_by": list(row["attempted_by"] or []),
        "created_at": stamp(row["created_at"]),
        "errors": list(row["errors"] or []),
        "finalized_at": stamp(row["finalized_at"]),
        "kind": row["kind"],
        "max_attempts": row["max_attempts"],
        "metadata": row["metadata"],
        "priority": row["priority"],
        "queue": row["queue"],
        "scheduled_at": stamp(row["scheduled_at"]),
        "state": row["state"],
        "tags": list(row["tags"] or []),
        "unique_key": None if row["unique_key"] is None else bytes(row["unique_key"]).hex(),
        "unique_states": None if row["unique_states"] is None else states_from_bits(row["unique_states"]),
    }


def same_json(left: Any, right: Any) -> bool:
    """Equal JSON values: numbers by value (1 is 1.0: JSON has one number type), but never a boolean for a number."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_json(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def same_column(column: str, left: Any, right: Any) -> bool:
    """Equal values of one normalized-job column: timestamps by instant, unique states as sets."""
    if column == "unique_states" and isinstance(left, list) and isinstance(right, list):
        return sorted(map(str, left)) == sorted(map(str, right)) and len(set(map(str, left))) == len(left)
    left_time, right_time = parse_time(left), parse_time(right)
    if left_time is not None and right_time is not None:
        return left_time == right_time
    return same_json(left, right)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 20 or value[4] != "-" or value[10] != "T":
        return None
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    # fromisoformat takes at most 6 fractional digits; adapters may send nanoseconds.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def lookup(results: list[Any], ref: str) -> Any:
    """Resolve "<step>.<key>.<index>…" against earlier step results."""
    parts = ref.split(".")
    value: Any = results[int(parts[0])]
    for part in parts[1:]:
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


class Matcher:
    """Compares an actual value with a case's expectation and collects readable differences."""

    def __init__(self, results: list[Any], now: datetime, slack: timedelta) -> None:
        self._results = results
        self._now = now
        self._slack = slack

    def match(self, expected: Any, actual: Any, path: str = "") -> list[str]:
        where = path or "result"
        if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
            return self._operator(next(iter(expected)), next(iter(expected.values())), actual, where)
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                return [f"{where}: expected an object, got {actual!r}"]
            problems: list[str] = []
            for key, sub in expected.items():
                if key not in actual:
                    problems.append(f"{where}.{key}: missing")
                else:
                    problems.extend(self.match(sub, actual[key], f"{where}.{key}"))
            return problems
        if isinstance(expected, list):
            if not isinstance(actual, list) or len(actual) != len(expected):
                return [f"{where}: expected {len(expected)} items, got {actual!r:.300}"]
            problems = []
            for index, (sub, item) in enumerate(zip(expected, actual, strict=True)):
                problems.extend(self.match(sub, item, f"{where}.{index}"))
            return problems
        expected_time, actual_time = parse_time(expected), parse_time(actual)
        if expected_time is not None and actual_time is not None:
            return [] if expected_time == actual_time else [f"{where}: expected {expected}, got {actual}"]
        if type(expected) is not type(actual) or expected != actual:
            return [f"{where}: expected {expected!r:.200}, got {actual!r:.200}"]
        return []

    def _operator(self, name: str, operand: Any, actual: Any, where: str) -> list[str]:
        if name == "$ref":
            return self.match(lookup(self._results, operand), actual, where)
        if name == "$exact":
            return [] if operand == actual else [f"{where}: expected exactly {operand!r:.200}, got {actual!r:.200}"]
        if name == "$set":
            ok = isinstance(actual, list) and sorted(map(repr, actual)) == sorted(map(repr, operand))
            return [] if ok else [f"{where}: expected the set {operand!r}, got {actual!r}"]
        if name == "$not_null":
            return [] if actual is not None else [f"{where}: expected a value, got null"]
        if name == "$not":
            return [f"{where}: expected anything but {operand!r}"] if not self.match(operand, actual, where) else []
        if name in ("$near_now", "$future", "$past"):
            moment = parse_time(actual)
            if moment is None:
                return [f"{where}: expected a timestamp, got {actual!r}"]
            if name == "$near_now" and abs(moment - self._now) > self._slack:
                return [f"{where}: {actual} is not within {self._slack} of the runner's clock"]
            if name == "$future" and moment <= self._now:
                return [f"{where}: {actual} is not in the future"]
            if name == "$past" and moment >= self._now:
                return [f"{where}: {actual} is not in the past"]
            return []
        return [f"{where}: unknown matcher {name}"]
