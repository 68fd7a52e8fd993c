"""The job row type and its error entries (spec/03-insert.md, schema/json/attempt-error.schema.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
from psycopg.rows import dict_row
from referencing import Registry, Resource

from riverboat._states import JobState
from riverboat.job import UNKNOWN_TIME, AttemptError, Job, format_time, parse_time

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema" / "json"


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


def test_format_time_is_go_rfc3339nano_utc() -> None:
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678901Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)) == "2026-01-02T03:04:05.6789Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert format_time(UNKNOWN_TIME) == "0001-01-01T00:00:00Z"
    # Zero-padded as Go pads it (strftime's %Y does not on glibc).
    assert format_time(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"
    plus = timezone(timedelta(hours=5, minutes=30))
    assert format_time(datetime(2026, 1, 2, 8, 34, 5, tzinfo=plus)) == "2026-01-02T03:04:05Z"


def test_parse_time_reads_what_go_writes() -> None:
    assert parse_time("2026-01-02T03:04:05.123456789Z") == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_time("2026-01-02T08:34:05+05:30") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("yesterday") is None


def test_attempt_error_to_json_exact_keys() -> None:
    entry = AttemptError(at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), attempt=2, error="boom", trace="")
    doc = entry.to_json()
    assert doc == {"at": "2026-01-02T03:04:05.678901Z", "attempt": 2, "error": "boom", "trace": ""}
    jsonschema.Draft202012Validator(_schema("attempt-error.schema.json")).validate(doc)
    assert AttemptError.from_json(doc) == entry


def test_attempt_error_from_json_is_tolerant() -> None:
    assert AttemptError.from_json({"at": "bad", "attempt": "x", "error": {"a": 1}, "trace": None}) == AttemptError(
        UNKNOWN_TIME, 0, '{"a":1}', ""
    )
    assert AttemptError.from_json("just text") == AttemptError(UNKNOWN_TIME, 0, '"just text"', "")
    assert AttemptError.from_json({}) == AttemptError(UNKNOWN_TIME, 0, "", "")
    assert AttemptError.from_json({"attempt": True}).attempt == 0


def test_from_row_reads_every_column(conn: psycopg.Connection[Any]) -> None:
    good = json.dumps({"at": "2026-01-02T03:04:05.5+01:00", "attempt": 1, "error": "e", "trace": "t"})
    conn.execute(
        "INSERT INTO river_job (kind, args, max_attempts, queue, state, attempt, attempted_at, attempted_by, errors,"
        " tags, metadata, unique_key, unique_states, priority)"
        " VALUES ('k', '{\"a\": [1]}', 3, 'q', 'retryable', 1, now(), '{w1}',"
        " ARRAY[%s::jsonb, '{\"at\": 5}'::jsonb, '[1]'::jsonb], '{t1}', '{\"m\": 1}',"
        " decode(repeat('ab', 32), 'hex'), B'11110101', 2)",
        (good,),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM river_job")
        row = cur.fetchone()
    assert row is not None
    job = Job.from_row(row)
    assert job.state is JobState.RETRYABLE
    assert (job.kind, job.queue, job.priority, job.attempt, job.max_attempts) == ("k", "q", 2, 1, 3)
    assert (job.args, job.metadata, job.tags, job.attempted_by) == ({"a": [1]}, {"m": 1}, ["t1"], ["w1"])
    assert job.unique_key == b"\xab" * 32
    assert job.unique_states == [
        JobState.AVAILABLE, JobState.COMPLETED, JobState.PENDING,
        JobState.RETRYABLE, JobState.RUNNING, JobState.SCHEDULED,
    ]  # fmt: skip
    assert job.errors == [
        AttemptError(datetime(2026, 1, 2, 2, 4, 5, 500000, tzinfo=UTC), 1, "e", "t"),
        AttemptError(UNKNOWN_TIME, 0, "", ""),
        AttemptError(UNKNOWN_TIME, 0, "[1]", ""),
    ]
    assert job.attempted_at is not None
    assert job.created_at.tzinfo is UTC
    assert job.finalized_at is None
    doc = job.to_json()
    validator = jsonschema.Draft202012Validator(
        _schema("job-row.schema.json"),
        registry=Registry().with_resource(
            "https://riverboat.dev/schema/v1/attempt-error.schema.json",
            Resource.from_contents(_schema("attempt-error.schema.json")),
        ),
    )
    # The unreadable error entries keep Go's zero time, still a valid RFC 3339 string.
    validator.validate(doc)
    assert doc["unique_key"] == "ab" * 32
    assert doc["errors"][0]["at"] == "2026-01-02T02:04:05.5Z"


def test_from_row_accepts_raw_json_bytes() -> None:
    now = datetime.now(UTC)
    row = {
        "id": 1, "state": "available", "attempt": 0, "max_attempts": 25, "attempted_at": None, "created_at": now,
        "finalized_at": None, "scheduled_at": now, "priority": 1, "args": b'{"x":1}', "attempted_by": None,
        "errors": [b'{"at":"2026-01-02T03:04:05Z","attempt":1,"error":"e","trace":""}', b"{broken"], "kind": "k",
        "metadata": b"{}", "queue": "default", "tags": [], "unique_key": None, "unique_states": None, "extra": 1,
    }  # fmt: skip
    job = Job.from_row(row)
    assert job.args == {"x": 1}
    assert job.metadata == {}
    assert job.errors[0].attempt == 1
    assert job.errors[1] == AttemptError(UNKNOWN_TIME, 0, '"{broken"', "")


def test_json_strings_are_not_decoded_twice(conn: psycopg.Connection[Any]) -> None:
    # jsonb holding a string that looks like an object: psycopg decodes it to that str once.
    text = '{"x":1}'
    conn.execute(
        "INSERT INTO river_job (kind, args, metadata, errors) VALUES ('k', %s::jsonb, %s::jsonb, ARRAY[%s::jsonb])",
        (json.dumps(text), json.dumps(text), json.dumps('{"attempt":7,"error":"e"}')),
    )
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT *, state::text AS state, unique_states::text AS unique_states FROM river_job"
    ).fetchone()
    assert row is not None
    job = Job.from_row(row)
    assert job.args == text
    assert job.metadata == text
    assert job.errors[0].attempt == 0
    assert job.errors[0].error == json.dumps('{"attempt":7,"error":"e"}')
