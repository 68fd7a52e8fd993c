"""SQL-only enqueue (spec/13-sql-enqueue.md): a plain INSERT relying on column defaults, and
riverboat_job_insert_v1 with the client's defaults, validation, unique keys and notification."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from riverboat import Client
from riverboat._gojson import encode
from riverboat._insert import InsertOpts
from riverboat._states import JobState
from riverboat._unique import UniqueOpts, unique_key
from riverboat.args import RawArgs
from riverboat.job import Job
from riverboat.migrate import Migrator
from riverboat.worker import Worker, Workers, WorkJob
from tests.helpers import await_until, go_binary, wait_until
from tests.worker_support import running_runtime

INSERT = (
    "SELECT (r.job).*, r.unique_skipped_as_duplicate FROM riverboat_job_insert_v1(%(kind)s, %(args)s, %(opts)s) AS r"
)


def sql_insert(
    conn: psycopg.Connection[Any], kind: str, args: str, opts: dict[str, Any] | None = None
) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(INSERT, {"kind": kind, "args": args, "opts": json.dumps(opts or {})})
        row = cur.fetchone()
    assert row is not None
    return row


def test_defaults(conn: psycopg.Connection[Any]) -> None:
    row = sql_insert(conn, "sql_kind", '{"a":1}')
    job = Job.from_row(row)
    assert (job.kind, job.queue, job.priority, job.max_attempts, job.state) == (
        "sql_kind",
        "default",
        1,
        25,
        "available",
    )
    assert (job.tags, job.metadata, job.unique_key, job.args) == ([], {}, None, {"a": 1})
    assert row["unique_skipped_as_duplicate"] is False


def test_every_option(conn: psycopg.Connection[Any]) -> None:
    opts = {
        "queue": "q-1",
        "priority": 3,
        "max_attempts": 4,
        "scheduled_at": "2030-01-02T03:04:05.5+01:00",
        "tags": ["abc", "d-e_f"],
        "metadata": {"m": [1]},
    }
    job = Job.from_row(sql_insert(conn, "k", "{}", opts))
    assert (job.queue, job.priority, job.max_attempts) == ("q-1", 3, 4)
    assert job.scheduled_at == datetime(2030, 1, 2, 2, 4, 5, 500000, tzinfo=UTC)
    assert job.state is JobState.SCHEDULED
    assert (job.tags, job.metadata) == (["abc", "d-e_f"], {"m": [1]})
    assert Job.from_row(sql_insert(conn, "k", "{}", {"pending": True, **opts})).state is JobState.PENDING


@pytest.mark.parametrize(
    ("kind", "args", "opts", "message"),
    [
        ("", "{}", {}, "kind: must be a string of 1 to 127"),
        ("k" * 128, "{}", {}, "kind: must be a string of 1 to 127"),
        ("k", "[1]", {}, "args: must be a JSON object"),
        ("k", "nope", {}, "args: must be JSON text"),
        ("k", "{}", {"queue": "Bad"}, "queue: must be a queue name"),
        ("k", "{}", {"queue": "a" * 65}, "queue: must be a queue name"),
        ("k", "{}", {"priority": 5}, "priority: must be an integer from 1"),
        ("k", "{}", {"priority": "1"}, "priority: must be an integer from 1"),
        ("k", "{}", {"max_attempts": 0}, "max_attempts: must be an integer from 1"),
        ("k", "{}", {"max_attempts": 1.5}, "max_attempts: must be an integer from 1"),
        ("k", "{}", {"scheduled_at": "2030-01-02T03:04:05"}, "scheduled_at: must be an RFC 3339 time with a zone"),
        ("k", "{}", {"pending": "yes"}, "pending: must be a boolean"),
        ("k", "{}", {"tags": ["ab"]}, "tags: each tag must be 3 to 255"),
        ("k", "{}", {"tags": ["a,bc"]}, "tags: each tag must be 3 to 255"),
        ("k", "{}", {"tags": "abc"}, "tags: must be a list of strings"),
        ("k", "{}", {"metadata": {"river:x": 1}}, "metadata: keys beginning 'river:' are reserved"),
        ("k", "{}", {"metadata": [1]}, "metadata: must be a JSON object"),
        ("k", "{}", {"queue": "a" * 26 + "!"}, "queue: must be a queue name"),
        ("k", "{}", {"queue": "a||b"}, "queue: must be a queue name"),
        ("k", "{}", {"bogus": 1}, "bogus: is not an insert option"),
        ("k", "{}", {"unique_opts": {"by_period_seconds": 0.5}}, "unique_opts.by_period: must be a whole number"),
        ("k", "{}", {"unique_opts": {"by_period_seconds": 1.5}}, "unique_opts.by_period: must be a whole number"),
        ("k", "{}", {"unique_opts": {"by_state": ["available"]}}, "unique_opts.by_state: must include available"),
        ("k", "{}", {"unique_opts": {"by_state": ["nope"]}}, "unique_opts.by_state: must contain only known"),
        ("k", "{}", {"unique_opts": {"exclude_kind": True}}, "unique_opts.exclude_kind: requires"),
        ("k", "{}", {"unique_opts": {"by_args": [], "exclude_kind": True}}, "unique_opts.exclude_kind: requires"),
        ("k", "{}", {"unique_opts": {"by_args": 1}}, "unique_opts.by_args: must be a boolean or a list"),
        ("k", "{}", {"unique_opts": {"by_args": ["items.0"]}}, "unique_opts.by_args: path components must be"),
        ("k", "{}", {"unique_opts": {"by_args": ["a..b"]}}, "unique_opts.by_args: path components must be"),
        ("k", "{}", {"unique_opts": {"by_zzz": 1}}, "unique_opts.by_zzz: is not a unique option"),
    ],
)
def test_validation(conn: psycopg.Connection[Any], kind: str, args: str, opts: dict[str, Any], message: str) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
        sql_insert(conn, kind, args, opts)
    assert conn.execute("SELECT count(*) FROM river_job").fetchone() == (0,)


NOW = datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
SCHEDULED = "2026-01-02T05:21:05.6789Z"
ALL_STATES_BUT_RETRYABLE = ["available", "completed", "pending", "running", "scheduled"]
SELECTED = ["account.id", "account.region", "label", "path/key"]

VECTORS: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("conformance_simple", '{"id":42}', {"by_period_seconds": 3600, "_scheduled_at": SCHEDULED},
     "b7f3c49952996b760b8b3ff6cf48f426e03a6ef0f004fb6faa51725365cf309a"),
    ("conformance_simple", '{"id":42}', {"by_queue": True, "exclude_kind": True, "_queue": "priority_emails"},
     "d20ce47da8e8015e68b020bbca2b17494139519ae05f8985e5992db4d8dd8a09"),
    ("conformance_simple", '{"id":42}',
     {"by_args": True, "by_period_seconds": 60, "by_queue": True, "by_state": ALL_STATES_BUT_RETRYABLE,
      "_queue": "priority_emails", "_scheduled_at": SCHEDULED},
     "6f20262e7b1fa9beaf98255f23030800376636484a98b20c2c04a303bab5a8d5"),
    ("conformance_all_args", "{}", {"by_args": True},
     "fe05a58ddb79a8d4544da962582d9a290d59788c920afd3597da3a62e3c1b0ac"),
    ("conformance_all_args", '{"nested":{"z":1,"a":2}}', {"by_args": True},
     "46ff499cb031d0458bb00ef87e7b83321eefb6e7534497c279c4ae0f474cdde0"),
    ("conformance_selected_args", "{}", {"by_args": SELECTED},
     "23aa86692d9807ab10e433e378f1c0804573f5e345818461b919322dd381b4c3"),
    ("conformance_selected_args",
     '{"account":{"id":"acct-123","ignored":"not selected"},"ignored":true,"label":"selected"}', {"by_args": SELECTED},
     "6130dc4f753402d1faeb6bbc3e6c21415245bb282ad1fd16bcbfeebde525e726"),
    ("conformance_selected_args", '{"label":null}', {"by_args": SELECTED},
     "d137d7c4f1e3f8369037b1890357655b4fa1978a329bcf51435f9f0b54abcab7"),
    # Beyond the issue's vectors: escaping, duplicates, unicode keys, numbers, nested selections.
    ("extra", encode({"z<": "\u2028", "é": 1, "a\nb": [1.5e-7, 1e21], "big": 18446744073709551615}).decode(),
     {"by_args": True}, None),
    ("extra", '{"b":1,"a":2,"b":3}', {"by_args": True}, None),
    ("extra", '{"x":{"b":{"c":1,"d":2},"a":0},"x-y":5}', {"by_args": ["x.b.d", "x-y", "x.a", "x.b.c"]}, None),
    ("extra", '{"a":{"b":2,"c":3},"a.b":1,"a-b":4,"a\\\\":{"b":5}}', {"by_args": ["a.c", "a\\.b", "a-b", "a\\\\.b"]},
     None),
    ("extra", '{"a":1}',
     {"by_args": True, "by_period_seconds": 420, "by_queue": True, "_scheduled_at": SCHEDULED}, None),
    ("extra", '{"a":1}', {"by_state": ["available", "pending", "running", "scheduled", "cancelled"]}, None),
    ("extra", '{"a":1}', {"by_args": [], "by_queue": True}, None),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "unique", "expected"), VECTORS)
def test_unique_keys_match_python_client(
    conn: psycopg.Connection[Any], db_url: str, kind: str, args: str, unique: dict[str, Any], expected: str | None
) -> None:
    opts: dict[str, Any] = {}
    unique = dict(unique)
    if "_queue" in unique:
        opts["queue"] = unique.pop("_queue")
    if "_scheduled_at" in unique:
        opts["scheduled_at"] = unique.pop("_scheduled_at")
    row = sql_insert(conn, kind, args, {**opts, "unique_opts": unique})
    job = Job.from_row(row)
    assert job.args == json.loads(args)
    unique_opts = UniqueOpts(
        by_args=unique["by_args"] if isinstance(unique.get("by_args"), bool) else tuple(unique.get("by_args", ())),
        by_period=timedelta(seconds=unique["by_period_seconds"]) if "by_period_seconds" in unique else None,
        by_queue=unique.get("by_queue", False),
        by_state=tuple(JobState(s) for s in unique["by_state"]) if "by_state" in unique else None,
        exclude_kind=unique.get("exclude_kind", False),
    )
    scheduled_at = datetime.fromisoformat(opts["scheduled_at"]) if "scheduled_at" in opts else None
    python_key = unique_key(
        kind=kind, encoded_args=args.encode(), queue=job.queue, opts=unique_opts, scheduled_at=scheduled_at, now=NOW
    )
    assert job.unique_key == python_key
    if expected is not None:
        assert python_key.hex() == expected
    # The Python client dedupes against the SQL-inserted row, and vice versa.
    with Client(db_url) as client:
        again = client.insert(
            RawArgs(kind, args),
            InsertOpts(queue=opts.get("queue"), scheduled_at=scheduled_at, unique_opts=unique_opts),
        )
    assert again.unique_skipped_as_duplicate
    assert again.job.id == job.id
    assert sql_insert(conn, kind, args, {**opts, "unique_opts": unique})["unique_skipped_as_duplicate"] is True


def test_json_text_is_stored_and_hashed_compacted(conn: psycopg.Connection[Any]) -> None:
    # The JSON-text vector of spec/04-unique.md#vectors: whitespace dropped, < and > escaped.
    row = sql_insert(conn, "conformance_all_args", '{ "id" : 42, "s" : "<b>" }', {"unique_opts": {"by_args": True}})
    assert row["unique_key"].hex() == "50f72754b0ee869122af53792422d31e09da5ca30380b472fa1e211c120fb016"
    assert row["args"] == {"id": 42, "s": "<b>"}


def test_null_options_are_unset(conn: psycopg.Connection[Any]) -> None:
    opts = {"queue": None, "priority": None, "tags": None, "metadata": None, "unique_opts": {"by_args": None}}
    job = Job.from_row(sql_insert(conn, "k", "{}", {**opts, "queue": "a|b-c_d"}))
    assert (job.queue, job.priority, job.tags, job.metadata, job.unique_key) == ("a|b-c_d", 1, [], {}, None)


def test_period_from_now_uses_database_time(conn: psycopg.Connection[Any]) -> None:
    job = Job.from_row(
        sql_insert(conn, "conformance_simple", '{"id":42}', {"unique_opts": {"by_period_seconds": 5400}})
    )
    expected = unique_key(
        kind="conformance_simple",
        encoded_args=b'{"id":42}',
        queue="default",
        opts=UniqueOpts(by_period=timedelta(minutes=90)),
        scheduled_at=None,
        now=job.created_at,
    )
    assert job.unique_key == expected
    assert job.unique_states is not None
    assert len(job.unique_states) == 6


def test_empty_by_args_list_is_unset(conn: psycopg.Connection[Any]) -> None:
    first = sql_insert(conn, "k", '{"a":1}', {"unique_opts": {"by_args": []}})
    second = sql_insert(conn, "k", '{"a":1}', {"unique_opts": {"by_args": []}})
    assert (first["unique_key"], first["unique_states"]) == (None, None)
    assert second["id"] != first["id"]
    assert second["unique_skipped_as_duplicate"] is False


def test_unique_mask_custom_states(conn: psycopg.Connection[Any]) -> None:
    row = sql_insert(conn, "k", "{}", {"unique_opts": {"by_state": ALL_STATES_BUT_RETRYABLE}})
    assert row["unique_states"] == f"{213:08b}"


def _listen(db_url: str) -> psycopg.Connection[Any]:
    listener = psycopg.connect(db_url, autocommit=True)
    listener.execute('LISTEN "public.river_insert"')
    return listener


def _notifications(listener: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [json.loads(n.payload) for n in listener.notifies(timeout=0.5, stop_after=10) or []]


def _wait_notifications(listener: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    got = wait_until(lambda: _notifications(listener) or None, what="insert notification")
    assert got is not None
    return got


def test_function_notifies_on_commit_only(db_url: str) -> None:
    with _listen(db_url) as listener, psycopg.connect(db_url) as tx:
        sql_insert(tx, "k", "{}", {"queue": "rolled"})
        tx.rollback()
        assert _notifications(listener) == []
        sql_insert(tx, "k", "{}", {"queue": "sched", "scheduled_at": "2030-01-01T00:00:00Z"})
        sql_insert(tx, "k", "{}", {"queue": "kept"})
        tx.commit()
        assert _wait_notifications(listener) == [{"queue": "kept"}]


def test_plain_insert_with_column_defaults(conn: psycopg.Connection[Any], db_url: str) -> None:
    with _listen(db_url) as listener, psycopg.connect(db_url) as tx:
        # The spec's worked example (a): every column River leaves to its default.
        tx.execute(
            "INSERT INTO river_job (kind, args, max_attempts, queue) VALUES ('plain', '{\"n\":1}', 25, 'default');"
            " SELECT pg_notify(current_schema() || '.river_insert', '{\"queue\":\"default\"}')"
        )
        tx.commit()
        assert _wait_notifications(listener) == [{"queue": "default"}]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM river_job")
        row = cur.fetchone()
    assert row is not None
    job = Job.from_row(row)
    assert (job.state, job.priority, job.attempt, job.tags, job.metadata) == ("available", 1, 0, [], {})


def test_river_go_works_jobs_enqueued_from_sql(db_url: str, conn: psycopg.Connection[Any]) -> None:
    function_job = Job.from_row(sql_insert(conn, "go_task", '{"n":1}', {"queue": "go_queue"}))
    row = conn.execute(
        "INSERT INTO river_job (kind, args, max_attempts, queue) VALUES ('go_task', '{\"n\":2}', 25, 'go_queue')"
        " RETURNING id"
    ).fetchone()
    assert row is not None
    plain_id = int(row[0])
    worker = subprocess.Popen(
        [str(go_binary("riverworker")), "-database-url", db_url, "-id", "sql-enqueue-test"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    try:
        worked: set[int] = set()
        for line in worker.stdout:
            if line.startswith("worked "):
                worked.add(int(line.split()[1]))
            if {function_job.id, plain_id} <= worked:
                break
        assert {function_job.id, plain_id} <= worked

        def completed() -> bool:
            done = conn.execute("SELECT count(*) FROM river_job WHERE state = 'completed'").fetchone()
            return done == (2,)

        wait_until(completed, what="both jobs completed by River Go")
    finally:
        worker.stdin.write("stop\n")
        worker.stdin.close()
        worker.wait(timeout=30)


def test_custom_schema_function_and_client(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as c:
        c.execute("CREATE SCHEMA jobs")
        migrator = Migrator(c, schema="jobs")
        for line in migrator.lines():
            migrator.up(line=line)
        c.execute('LISTEN "jobs.river_insert"')
        with c.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT (r.job).*, r.unique_skipped_as_duplicate"
                " FROM jobs.riverboat_job_insert_v1('k', '{\"a\":1}', '{\"unique_opts\":{\"by_args\":true}}') AS r"
            )
            row = cur.fetchone()
        assert row is not None
        with Client(bare_db_url, schema="jobs") as client:
            again = client.insert(RawArgs("k", '{"a":1}'), InsertOpts(unique_opts=UniqueOpts(by_args=True)))
            other = client.insert(RawArgs("k", '{"a":2}'))
        assert again.unique_skipped_as_duplicate
        assert again.job.id == row["id"]
        got = wait_until(lambda: [json.loads(n.payload) for n in c.notifies(timeout=0.5, stop_after=2)] or None)
        assert got == [{"queue": "default"}, {"queue": "default"}]
        assert other.job.id != row["id"]


class _Noted(Worker[dict[str, Any]]):
    kind = "sql_noted"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        return None


async def test_riverboat_works_jobs_enqueued_from_sql(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        ids = [int(Job.from_row(sql_insert(c, "sql_noted", '{"n":1}')).id)]
        row = c.execute(
            "INSERT INTO river_job (kind, args, max_attempts) VALUES ('sql_noted', '{\"n\":2}', 25) RETURNING id"
        ).fetchone()
        assert row is not None
        ids.append(int(row[0]))

    def all_completed() -> bool:
        with psycopg.connect(db_url, autocommit=True) as c:
            done = c.execute(
                "SELECT count(*) FROM river_job WHERE id = ANY(%s) AND state = 'completed'", (ids,)
            ).fetchone()
        return done == (2,)

    async def completed() -> bool:
        return all_completed()

    async with running_runtime(db_url, Workers(_Noted())):
        await await_until(completed, what="riverboat completes SQL-enqueued jobs")
