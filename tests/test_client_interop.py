"""River Go v0.51.2 (tests/go/cmd/riverinsert) and riverboat insert the same unique jobs into
one database and dedupe against each other (spec/03-insert.md, spec/04-unique.md)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from riverboat import Client
from riverboat._gojson import encode
from riverboat._insert import InsertManyParams, InsertOpts
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs
from tests.helpers import go_binary, wait_until

SCHEDULED = datetime(2030, 1, 2, 5, 21, 5, 678900, tzinfo=UTC)

# (kind, args, queue, scheduled_at, unique options)
CASES: list[tuple[str, dict[str, Any], str, datetime | None, UniqueOpts]] = [
    ("interop_all", {"id": 42, "name": "<b>&amp;</b>", "nested": {"z": 1, "a": [1.5e-7, 1e21]}}, "default", None,
     UniqueOpts(by_args=True)),
    ("interop_all", {"z": "\u2028", "é": "ü", "big": 18446744073709551615, "neg": -0.0}, "default", None,
     UniqueOpts(by_args=True)),
    ("interop_period", {"id": 1}, "default", SCHEDULED, UniqueOpts(by_period=timedelta(minutes=7))),
    ("interop_queue", {"id": 1}, "priority_emails", None, UniqueOpts(by_queue=True, exclude_kind=True)),
    ("interop_states", {"id": 1}, "default", None,
     UniqueOpts(by_args=True, by_state=(JobState.AVAILABLE, JobState.PENDING, JobState.RUNNING, JobState.SCHEDULED))),
    ("interop_mixed", {"id": 1}, "q_2", SCHEDULED,
     UniqueOpts(by_args=True, by_period=timedelta(hours=1), by_queue=True)),
]  # fmt: skip


def _go_spec(kind: str, args: dict[str, Any], queue: str, at: datetime | None, unique: UniqueOpts) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": kind,
        "args": args,
        "queue": queue,
        "unique": {
            "by_args": bool(unique.by_args),
            "by_period_seconds": unique.by_period.total_seconds() if unique.by_period else 0,
            "by_queue": unique.by_queue,
            "by_state": [s.value for s in unique.by_state] if unique.by_state else None,
            "exclude_kind": unique.exclude_kind,
        },
    }
    if at is not None:
        spec["scheduled_at"] = at.isoformat().replace("+00:00", "Z")
    return spec


def _go_insert(db_url: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Raw JSON args go in as text so Go sees exactly riverboat's bytes.
    lines = [json.dumps({**s, "args": None})[:-1] + ', "args": ' + encode(s["args"]).decode() + "}" for s in specs]
    done = subprocess.run(
        [str(go_binary("riverinsert")), "-database-url", db_url],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _riverboat_items() -> list[InsertManyParams]:
    return [
        InsertManyParams(RawArgs(kind, args), InsertOpts(queue=queue, scheduled_at=at, unique_opts=unique))
        for kind, args, queue, at, unique in CASES
    ]


@pytest.fixture(scope="module")
def _built() -> None:
    go_binary("riverinsert")


@pytest.mark.usefixtures("_built")
def test_go_first_then_riverboat(db_url: str) -> None:
    go = _go_insert(db_url, [_go_spec(*case) for case in CASES])
    assert not any(r["skipped"] for r in go)
    with Client(db_url) as client:
        ours = client.insert_many(_riverboat_items())
    assert all(r.unique_skipped_as_duplicate for r in ours)
    assert [r.job.id for r in ours] == [g["id"] for g in go]
    assert [r.job.unique_key.hex() if r.job.unique_key else "" for r in ours] == [g["unique_key"] for g in go]


@pytest.mark.usefixtures("_built")
def test_riverboat_first_then_go(db_url: str) -> None:
    with Client(db_url) as client:
        ours = client.insert_many(_riverboat_items())
    assert not any(r.unique_skipped_as_duplicate for r in ours)
    go = _go_insert(db_url, [_go_spec(*case) for case in CASES])
    assert all(r["skipped"] for r in go)
    assert [g["id"] for g in go] == [r.job.id for r in ours]


@pytest.mark.usefixtures("_built")
def test_stored_args_are_identical(db_url: str, conn: psycopg.Connection[Any]) -> None:
    kind, args, queue, at, _ = CASES[1]
    go = _go_insert(db_url, [{**_go_spec(kind, args, queue, at, UniqueOpts()), "unique": None}])
    with Client(db_url) as client:
        ours = client.insert(RawArgs(kind, args)).job
    rows = conn.execute("SELECT args::text FROM river_job WHERE id = ANY(%s) ORDER BY id", ([go[0]["id"], ours.id],))
    first, second = rows.fetchall()
    assert first == second


@pytest.mark.usefixtures("_built")
def test_go_listener_channel_matches(db_url: str) -> None:
    # River Go notifies '<schema>.river_insert' on insert; riverboat's payload goes to the same channel.
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute('LISTEN "public.river_insert"')
        _go_insert(db_url, [{**_go_spec("go_kind", {}, "go_queue", None, UniqueOpts()), "unique": None}])
        with Client(db_url) as client:
            client.insert(RawArgs("py_kind", {}), InsertOpts(queue="py_queue"))

        seen: set[str] = set()

        def both() -> bool:
            seen.update(json.loads(n.payload)["queue"] for n in listener.notifies(timeout=0.2, stop_after=5) or [])
            return {"go_queue", "py_queue"} <= seen

        wait_until(both, what="notifications from River Go and riverboat")


@pytest.mark.usefixtures("_built")
def test_river_go_works_riverboat_jobs(db_url: str) -> None:
    with Client(db_url) as client:
        results = client.insert_many(
            [
                (RawArgs("go_task", {"n": 1}), InsertOpts(queue="go_queue", tags=("from_py",), metadata={"a": 1})),
                (RawArgs("go_task", {"n": 2}), InsertOpts(queue="go_queue", unique_opts=UniqueOpts(by_args=True))),
            ]
        )
        client.insert_many_fast([(RawArgs("go_task", {"n": 3}), InsertOpts(queue="go_queue"))])
    ids = {r.job.id for r in results}
    worker = subprocess.Popen(
        [str(go_binary("riverworker")), "-database-url", db_url, "-id", "interop-test"],
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
            if len(worked) == 3:
                break
        assert ids <= worked
    finally:
        worker.stdin.write("stop\n")
        worker.stdin.close()
        worker.wait(timeout=30)
