"""The fetch statement's plan stays on river_job_prioritized_fetching_index (spec/06-fetch.md),
whether Postgres plans it for the values at hand (custom plan) or once for any values (generic
plan, what a prepared statement gets after a few executions), and however many finalized or
future rows the table holds. A plan that fell back to scanning the table would make every
fetch cost as much as the table is big."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from riverboat._queries import apply_schema, query_text

INDEX = "river_job_prioritized_fetching_index"
#: The fetch statement's parameters, their types and the values explained.
PARAMETERS = {"queue": ("text", "default"), "max_to_lock": ("integer", 100), "client_id": ("text", "plan-test")}


def positional(text: str) -> tuple[str, list[str]]:
    """``text`` with its named parameters turned into $1, $2, ... (for PREPARE), and their names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, text), names


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def explain_fetch(conn: psycopg.Connection[Any], plan_cache_mode: str) -> tuple[dict[str, Any], str]:
    """The fetch statement's plan under ``plan_cache_mode``, as JSON and as text."""
    text, names = positional(apply_schema(query_text("job_get_available"), None))
    types = ", ".join(PARAMETERS[name][0] for name in names)
    conn.execute(f"PREPARE job_fetch ({types}) AS {text}")
    conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
    # EXPLAIN EXECUTE takes no bound parameters: the values go in as literals.
    values = sql.SQL(", ").join(sql.Literal(PARAMETERS[name][1]) for name in names)
    execute = sql.SQL("EXECUTE job_fetch ({})").format(values)
    as_json = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(execute)).fetchone()
    as_text = conn.execute(sql.SQL("EXPLAIN {}").format(execute)).fetchall()
    conn.execute("DEALLOCATE job_fetch")
    assert as_json is not None
    return as_json[0][0]["Plan"], "\n".join(row[0] for row in as_text)


def fill(conn: psycopg.Connection[Any], *, finalized: int, scheduled: int, available: int, analyze: bool) -> None:
    """Add rows; with ``analyze`` the statistics see them, else they were taken of the empty table."""
    if not analyze:
        conn.execute("ANALYZE river_job")
    conn.execute(
        "INSERT INTO river_job (args, kind, state, finalized_at, attempt) "
        "SELECT '{}', 'done', 'completed', now() - interval '1 hour', 1 FROM generate_series(1, %s)",
        (finalized,),
    )
    conn.execute(
        "INSERT INTO river_job (args, kind, state, scheduled_at) "
        "SELECT '{}', 'later', 'scheduled', now() + interval '1 day' FROM generate_series(1, %s)",
        (scheduled,),
    )
    conn.execute("INSERT INTO river_job (args, kind) SELECT '{}', 'now' FROM generate_series(1, %s)", (available,))
    if analyze:
        conn.execute("ANALYZE river_job")


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(
    "rows",
    [
        pytest.param({"finalized": 0, "scheduled": 0, "available": 5_000, "analyze": True}, id="all-available"),
        pytest.param(
            {"finalized": 50_000, "scheduled": 10_000, "available": 200, "analyze": True}, id="history-and-future"
        ),
        pytest.param(
            {"finalized": 50_000, "scheduled": 10_000, "available": 5_000, "analyze": False}, id="filled-after-analyze"
        ),
    ],
)
def test_fetch_uses_the_prioritized_fetching_index(
    conn: psycopg.Connection[Any], plan_cache_mode: str, rows: dict[str, Any]
) -> None:
    fill(conn, **rows)
    plan, text = explain_fetch(conn, plan_cache_mode)

    # The plan is the kind asked for: a generic plan keeps the queue a parameter.
    assert ("$1" in text) == (plan_cache_mode == "force_generic_plan"), text
    # The scan that picks the jobs (the CTE's, unaliased; the update's own is ``job``).
    picking = [
        node for node in nodes(plan) if node.get("Relation Name") == "river_job" and node["Alias"] == "river_job"
    ]
    assert [(node["Node Type"], node.get("Index Name")) for node in picking] == [("Index Scan", INDEX)], text
