from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from riverboat._queries import query
from tests.worker_support import insert_jobs, states


def fetch(conn: psycopg.Connection[Any], limit: int, client_id: str = "me") -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            query("job_get_available", None), {"queue": "default", "max_to_lock": limit, "client_id": client_id}
        )
        return cur.fetchall()


def test_fetch_order_limit_and_fields(conn: psycopg.Connection[Any]) -> None:
    low = insert_jobs(conn, "k", [{}])
    high = insert_jobs(conn, "k", [{}, {}])
    other_queue = insert_jobs(conn, "k", [{}], queue="other")
    future = insert_jobs(conn, "k", [{}])
    conn.execute("UPDATE river_job SET priority = 3 WHERE id = %s", (low[0],))
    conn.execute("UPDATE river_job SET scheduled_at = now() + interval '1 hour' WHERE id = %s", (future[0],))
    rows = fetch(conn, 2)
    assert [r["id"] for r in rows] == high
    assert all(r["state"] == "running" and r["attempt"] == 1 and r["attempted_by"] == ["me"] for r in rows)
    assert all(r["attempted_at"] is not None for r in rows)
    assert [r["id"] for r in fetch(conn, 10)] == low
    assert fetch(conn, 10) == []
    assert states(conn, other_queue + future) == ["available", "available"]


def test_attempted_by_keeps_last_100(conn: psycopg.Connection[Any]) -> None:
    ids = insert_jobs(conn, "k", [{}, {}])
    conn.execute(
        "UPDATE river_job SET attempted_by = ARRAY(SELECT 'c' || g FROM generate_series(1, 150) g) WHERE id = %s",
        (ids[0],),
    )
    conn.execute("UPDATE river_job SET attempted_by = ARRAY['a', 'b'] WHERE id = %s", (ids[1],))
    rows = {r["id"]: r for r in fetch(conn, 2, "new")}
    assert rows[ids[0]]["attempted_by"] == [f"c{i}" for i in range(52, 151)] + ["new"]
    assert rows[ids[1]]["attempted_by"] == ["a", "b", "new"]


def test_skip_locked_splits_between_fetchers(conn: psycopg.Connection[Any], db_url: str) -> None:
    insert_jobs(conn, "k", [{}] * 4)
    with psycopg.connect(db_url) as other:
        first = fetch(other, 2, "other")
        second = fetch(conn, 10)
        other.commit()
    assert len(first) == 2
    assert len(second) == 2
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in second)
