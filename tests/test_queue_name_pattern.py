"""The queue-name pattern of spec/03-insert.md#queue-names: the same names as River Go's own
pattern, written so that no regex engine backtracks on it, and used wherever riverboat
checks a queue name."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riverboat import InsertOpts, ValidationError

ROOT = Path(__file__).resolve().parent.parent
# River Go v0.51.2's nameRegex (client.go), a fact carried over: ambiguous, so exponential
# in backtracking engines on names that almost match.
RIVER_PATTERN = r"^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$"
ALPHABET = "a0_|-A!"


def spec_pattern() -> str:
    """The pattern in the code block of the spec's queue-names section."""
    text = (ROOT / "spec" / "03-insert.md").read_text()
    section = text[text.index("{#queue-names}") :]
    match = re.search(r"```\n(.+)\n```", section)
    assert match is not None
    return match.group(1)


def test_spec_pattern_accepts_exactly_rivers_names() -> None:
    river, spec = re.compile(RIVER_PATTERN), re.compile(spec_pattern())
    differ = [
        name
        for length in range(8)
        for name in map("".join, itertools.product(ALPHABET, repeat=length))
        if (river.fullmatch(name) is None) != (spec.fullmatch(name) is None)
    ]
    assert differ == []


def test_json_schemas_and_sql_function_use_the_spec_pattern() -> None:
    meta = json.loads((ROOT / "schema" / "json" / "job-args-contract.schema.json").read_text())
    assert meta["$defs"]["insert_opts"]["properties"]["queue"]["pattern"] == spec_pattern()
    params = json.loads((ROOT / "schema" / "json" / "insert-params.schema.json").read_text())
    assert params["properties"]["queue"]["pattern"] == spec_pattern()
    function = (ROOT / "schema" / "migrations" / "riverboat" / "001_job_insert_function.up.sql").read_text()
    assert f"v_queue !~ '{spec_pattern()}'" in function


def accepted(name: str) -> bool:
    try:
        InsertOpts(queue=name)
    except ValidationError as exc:
        return exc.field != "queue"
    return True


@given(st.text(alphabet=ALPHABET + "é\n ", max_size=70))
def test_python_client_accepts_the_spec_names(name: str) -> None:
    assert accepted(name) == (len(name) <= 64 and re.fullmatch(spec_pattern(), name) is not None)


@pytest.mark.timeout(60)
def test_python_client_rejects_a_near_miss_without_backtracking() -> None:
    # With River's pattern in Python's backtracking engine this takes about 2^62 steps.
    assert not accepted("a" * 63 + "!")
    assert not accepted("default\n")
