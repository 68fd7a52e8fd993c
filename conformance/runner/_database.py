"""The runner's private PostgreSQL: started, migrated, observed and reset between cases."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from riverboat.devdb import DevDatabase
from riverboat.migrate import Migrator

from ._values import normalize_row

SENTINEL_QUEUE = "riverboat_conformance_sentinel"


@contextmanager
def private_database(schema: str | None) -> Iterator[str]:
    """Start a throwaway cluster under /tmp, migrate every line (into ``schema`` if given, which is created;
    else into the search path), yield its URL."""
    parent = Path(tempfile.mkdtemp(prefix="riverboat-conformance-"))
    # The server may run as the postgres user, which must be able to enter the directory.
    os.chmod(parent, 0o755)
    server = DevDatabase(parent / "cluster")
    try:
        url = server.start()
        with psycopg.connect(url, autocommit=True) as conn:
            if schema is not None:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            migrator = Migrator(conn, schema=schema)
            for line in migrator.lines():
                migrator.up(line=line)
        yield url
    finally:
        server.destroy()
        shutil.rmtree(parent, ignore_errors=True)


class Observer:
    """The runner's own connections: row reads, setup statements and the insert-notification listener."""

    def __init__(self, url: str, schema: str | None) -> None:
        self._conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        if schema is not None:
            # Case SQL and the runner's reads name river_job unqualified.
            self._conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
        self._listen = psycopg.connect(url, autocommit=True)
        current = self._conn.execute("SELECT current_schema() AS s").fetchone()
        assert current is not None
        self.channel = f"{current['s']}.river_insert"
        self._listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    def reset(self) -> None:
        self._conn.execute("TRUNCATE river_job")
        self.drain_notifications()

    def rows(self) -> list[dict[str, Any]]:
        return [normalize_row(row) for row in self._conn.execute("SELECT * FROM river_job ORDER BY id")]

    def stored_args_differ(self, job_id: int, text: str) -> str | None:
        """The row's args as jsonb text if they are not the jsonb of ``text`` byte for byte, else None."""
        row = self._conn.execute(
            "SELECT args::text AS stored, args::text = %s::jsonb::text AS same FROM river_job WHERE id = %s",
            (text, job_id),
        ).fetchone()
        return None if row is None or row["same"] else str(row["stored"])

    def count(self) -> int:
        row = self._conn.execute("SELECT count(*) AS n FROM river_job").fetchone()
        assert row is not None
        return int(row["n"])

    def execute(self, statement: str) -> None:
        self._conn.execute(statement.encode())

    def fetch_order(self) -> list[int]:
        """IDs of available jobs in the order a worker fetches them (spec/06-fetch.md)."""
        cursor = self._conn.execute(
            "SELECT id FROM river_job WHERE state = 'available' AND scheduled_at <= now() "
            "ORDER BY priority, scheduled_at, id"
        )
        return [row["id"] for row in cursor]

    def drain_notifications(self) -> list[str]:
        """Queues named by insert notifications delivered so far, in order.

        A sentinel NOTIFY is sent and awaited: PostgreSQL delivers notifications in commit
        order, so everything committed before it has arrived once it does.
        """
        self._conn.execute("SELECT pg_notify(%s, %s)", (self.channel, json.dumps({"queue": SENTINEL_QUEUE})))
        queues: list[str] = []
        for notify in self._listen.notifies(timeout=10):
            queue = json.loads(notify.payload).get("queue")
            if queue == SENTINEL_QUEUE:
                break
            queues.append(str(queue))
        return queues

    def close(self) -> None:
        self._conn.close()
        self._listen.close()
