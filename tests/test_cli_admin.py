"""``riverboat jobs`` and ``riverboat queues`` (spec/12-queues-and-admin.md#cli)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from riverboat.cli import main
from tests import maintenance_support

# Fixtures shared by the leadership, maintenance and admin tests.
river_url = maintenance_support.river_url
sconn = maintenance_support.sconn


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)


def insert(conn, kind: str = "k", state: str = "available", queue: str = "default") -> int:
    finalized = "now()" if state in ("completed", "cancelled", "discarded") else "NULL"
    row = conn.execute(
        f"INSERT INTO river_job (kind, args, state, queue, finalized_at) VALUES (%s, '{{}}', %s, %s, {finalized})"
        " RETURNING id",
        [kind, state, queue],
    ).fetchone()
    return row[0]


def test_jobs_list_table_and_json(river_url, sconn):
    a = insert(sconn, "email")
    b = insert(sconn, "report", queue="reports")
    result = run(river_url, "jobs", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATE", "KIND", "QUEUE"]
    assert lines[1].split()[:4] == [str(a), "available", "email", "default"]
    assert lines[2].split()[:4] == [str(b), "available", "report", "reports"]
    data = json.loads(run(river_url, "jobs", "list", "--json", "--kind", "report").output)
    assert [j["id"] for j in data["jobs"]] == [b]
    assert data["next_cursor"] is None


def test_jobs_list_pages_with_cursor(river_url, sconn):
    ids = [insert(sconn) for _ in range(3)]
    first = json.loads(run(river_url, "jobs", "list", "--json", "--limit", "2").output)
    assert [j["id"] for j in first["jobs"]] == ids[:2]
    second = json.loads(
        run(river_url, "jobs", "list", "--json", "--limit", "2", "--cursor", first["next_cursor"]).output
    )
    assert [j["id"] for j in second["jobs"]] == ids[2:]
    table = run(river_url, "jobs", "list", "--limit", "2").output
    assert f"--cursor {first['next_cursor']}" in table


def test_jobs_get_cancel_retry_delete(river_url, sconn):
    job_id = insert(sconn, "email")
    shown = run(river_url, "jobs", "get", str(job_id))
    assert shown.exit_code == 0
    assert "kind" in shown.output
    assert "email" in shown.output
    cancelled = json.loads(run(river_url, "jobs", "cancel", str(job_id), "--json").output)
    assert cancelled["state"] == "cancelled"
    retried = json.loads(run(river_url, "jobs", "retry", str(job_id), "--json").output)
    assert retried["state"] == "available"
    assert run(river_url, "jobs", "delete", str(job_id)).exit_code == 0
    assert sconn.execute("SELECT count(*) FROM river_job").fetchone()[0] == 0


def test_errors_are_one_line_and_exit_1(river_url, sconn):
    missing = run(river_url, "jobs", "get", "424242")
    assert missing.exit_code == 1
    assert "job 424242 not found" in missing.output
    assert "Traceback" not in missing.output
    running = sconn.execute(
        "INSERT INTO river_job (kind, args, state, attempt, attempted_at) VALUES ('k', '{}', 'running', 1, now())"
        " RETURNING id"
    ).fetchone()[0]
    refused = run(river_url, "jobs", "delete", str(running))
    assert refused.exit_code == 1
    assert "running" in refused.output
    bad_state = run(river_url, "jobs", "list", "--state", "finished")
    assert bad_state.exit_code == 1
    assert "states" in bad_state.output
    bad_queue = run(river_url, "queues", "pause", "Bad Name")
    assert bad_queue.exit_code == 1
    assert "queue" in bad_queue.output


def test_unreachable_database_is_a_clear_error():
    result = CliRunner().invoke(main, ["queues", "list", "--database-url", "postgresql://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 1
    assert "cannot connect" in result.output


def test_queues_list_pause_resume(river_url, sconn):
    sconn.execute("INSERT INTO river_queue (name) VALUES ('alpha'), ('beta')")
    listed = run(river_url, "queues", "list")
    assert listed.output.splitlines()[0].split()[:2] == ["NAME", "PAUSED_AT"]
    assert "alpha" in listed.output
    paused = run(river_url, "queues", "pause", "alpha")
    assert paused.output.strip() == "paused alpha"
    data = json.loads(run(river_url, "queues", "list", "--json").output)
    assert {q["name"]: q["paused_at"] is not None for q in data} == {"alpha": True, "beta": False}
    resumed = json.loads(run(river_url, "queues", "resume", "*", "--json").output)
    assert all(q["paused_at"] is None for q in resumed)
    missing = run(river_url, "queues", "pause", "nope")
    assert missing.exit_code == 1
    assert "not found" in missing.output


def test_schema_option(river_url, sconn):
    sconn.execute("CREATE SCHEMA ops")
    sconn.execute("CREATE TABLE ops.river_queue (LIKE public.river_queue INCLUDING ALL)")
    sconn.execute("INSERT INTO ops.river_queue (name) VALUES ('elsewhere')")
    data = json.loads(run(river_url, "queues", "list", "--schema", "ops", "--json").output)
    assert [q["name"] for q in data] == ["elsewhere"]


def test_jobs_cancel_retry_delete_several_in_one_transaction(river_url, sconn):
    a = insert(sconn, "email")
    b = insert(sconn, "email")
    cancelled = json.loads(run(river_url, "jobs", "cancel", str(a), str(b), "--json").output)
    assert [(j["id"], j["state"]) for j in cancelled] == [(a, "cancelled"), (b, "cancelled")]
    table = run(river_url, "jobs", "retry", str(a), str(b))
    rows = [line.split()[:2] for line in table.output.splitlines()[1:]]
    assert rows == [[str(a), "available"], [str(b), "available"]]
    # All or none: a missing job leaves the others untouched.
    refused = run(river_url, "jobs", "cancel", str(a), "424242")
    assert refused.exit_code == 1
    assert "job 424242 not found" in refused.output
    assert sconn.execute("SELECT state::text FROM river_job WHERE id = %s", [a]).fetchone()[0] == "available"
    assert run(river_url, "jobs", "delete", str(a), str(b)).exit_code == 0
    assert sconn.execute("SELECT count(*) FROM river_job").fetchone()[0] == 0


def test_jobs_count_by_state(river_url, sconn):
    insert(sconn, "email")
    insert(sconn, "email", state="completed")
    insert(sconn, "report", state="completed", queue="reports")
    counts = json.loads(run(river_url, "jobs", "count", "--json").output)
    assert counts == {
        "available": 1, "cancelled": 0, "completed": 2, "discarded": 0,
        "pending": 0, "retryable": 0, "running": 0, "scheduled": 0,
    }  # fmt: skip
    assert json.loads(run(river_url, "jobs", "count", "--json", "--kind", "email").output)["completed"] == 1
    assert json.loads(run(river_url, "jobs", "count", "--json", "--queue", "reports").output)["available"] == 0
    table = run(river_url, "jobs", "count").output.splitlines()
    assert table[0].split() == ["STATE", "COUNT"]
    assert ["completed", "2"] in [line.split() for line in table[1:]]


def test_queues_get_and_update(river_url, sconn):
    sconn.execute("INSERT INTO river_queue (name) VALUES ('alpha')")
    shown = run(river_url, "queues", "get", "alpha")
    assert shown.output.splitlines()[0].split() == ["name", "alpha"]
    updated = json.loads(run(river_url, "queues", "update", "alpha", "--metadata", '{"team": "ops"}', "--json").output)
    assert (updated["name"], updated["metadata"]) == ("alpha", {"team": "ops"})
    assert json.loads(run(river_url, "queues", "get", "alpha", "--json").output)["metadata"] == {"team": "ops"}
    for bad in ("not json", "[1]"):
        refused = run(river_url, "queues", "update", "alpha", "--metadata", bad)
        assert refused.exit_code == 1
        assert "invalid metadata" in refused.output
    assert run(river_url, "queues", "get", "nope").exit_code == 1
