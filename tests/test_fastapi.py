"""examples/fastapi_app.py runs: its lifespan starts an AsyncClient, a request inserts a
user and its job in one transaction, and the app's worker works the job."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from examples.fastapi_app import app
from riverboat import Client
from tests.helpers import wait_until


def test_sign_up_enqueues_in_the_request_transaction_and_works(
    db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    with TestClient(app) as http, Client(db_url) as admin:
        # Paused, the job stays as the request's transaction wrote it.
        admin.queue_pause("default")
        response = http.post("/users", json={"email": "a@example.com"})
        assert response.status_code == 201, response.text
        signed_up = response.json()
        # Committed before the response was sent, by the transaction that wrote the user.
        job = conn.execute("SELECT kind, args, xmin::text FROM river_job WHERE id = %s", [signed_up["job_id"]])
        user = conn.execute("SELECT xmin::text FROM users WHERE id = %s", [signed_up["user_id"]])
        assert job.fetchone() == ("send_welcome", {"user_id": signed_up["user_id"]}, user.fetchone()[0])
        admin.queue_resume("default")
        wait_until(
            lambda: conn.execute("SELECT state FROM river_job").fetchone() == ("completed",), what="job completed"
        )
        assert conn.execute("SELECT welcomed FROM users").fetchone() == (True,)
        assert http.post("/users", json={"email": 7}).status_code == 422
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
