# Generated from test_job_update_async.py by scripts/generate_sync.py. Do not edit.
"""job_update and job_update_tx (River's JobUpdate; spec/12-queues-and-admin.md#job-update):
a job's output set from outside and in the caller's transaction. Written once for
``AsyncClient``; test_job_update_sync.py is generated from it. Inside ``work`` and read back
by River Go: test_job_update_work.py."""

from __future__ import annotations

import psycopg
import pytest

from riverboat import Client, JobNotFoundError, JobState, RawArgs, ValidationError
from riverboat._defaults import OUTPUT_MAX_BYTES


def test_job_update_sets_the_output_and_keeps_other_metadata(db_url: str) -> None:
    with Client(db_url) as client:
        job = (client.insert(RawArgs("report", {"n": 1}))).job
        client.job_update(job.id, output={"old": True})
        updated = client.job_update(job.id, output=[1, "two", {"three": 3.5}])
        assert updated.metadata == {"output": [1, "two", {"three": 3.5}]}
        assert (client.job_get(job.id)).metadata == updated.metadata
        assert updated.state == JobState.AVAILABLE


def test_job_update_without_output_outside_work_changes_nothing(db_url: str) -> None:
    with Client(db_url) as client:
        job = (client.insert(RawArgs("report", {"n": 1}))).job
        same = client.job_update(job.id)
        assert same == client.job_get(job.id)
        assert same.metadata == {}


def test_job_update_errors_name_the_rule(db_url: str) -> None:
    with Client(db_url) as client:
        job = (client.insert(RawArgs("report", {"n": 1}))).job
        with pytest.raises(JobNotFoundError):
            client.job_update(999_999, output=1)
        with pytest.raises(ValidationError, match="id") as bad_id:
            client.job_update(0, output=1)
        assert bad_id.value.rule == "range"
        for unencodable in (object(), float("nan"), {1: "non-string key"}):
            with pytest.raises(ValidationError) as bad:
                client.job_update(job.id, output=unencodable)
            assert (bad.value.field, bad.value.rule) in {("output", "json"), ("output", "type")}
        with pytest.raises(ValidationError) as too_big:
            client.job_update(job.id, output="x" * OUTPUT_MAX_BYTES)
        assert (too_big.value.field, too_big.value.rule) == ("output", "length")
        assert (client.job_get(job.id)).metadata == {}


def test_job_update_tx_follows_the_callers_transaction(db_url: str) -> None:
    with Client(db_url) as client, psycopg.Connection.connect(db_url) as conn:
        job = (client.insert(RawArgs("report", {"n": 1}))).job
        with conn.transaction(force_rollback=True):
            inside = client.job_update_tx(conn, job.id, output="rolled back")
            assert inside.metadata == {"output": "rolled back"}
        assert (client.job_get(job.id)).metadata == {}
        with conn.transaction():
            client.job_update_tx(conn, job.id, output="committed")
            assert (client.job_get(job.id)).metadata == {}, "visible before commit"
        assert (client.job_get(job.id)).metadata == {"output": "committed"}
