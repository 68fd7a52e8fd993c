"""Conformance adapter for SQL-only enqueue: a plain driver issuing only the SQL of spec/13-sql-enqueue.md.

By default every job goes through riverboat's ``riverboat_job_insert_v1`` function. With
``--plain`` the adapter issues the plain ``INSERT`` and ``pg_notify`` instead, which has no
unique jobs and no validation beyond the table's constraints.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from riverboat._gojson import compact

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _stdio import PROFILE_METHODS, RpcFailure, args_text, check_known, given, invalid, normalize, serve

QUERIES = Path(__file__).resolve().parent / "queries"
INSERT_SQL = (QUERIES / "job_insert.sql").read_text(encoding="utf-8")
NOTIFY_SQL = (QUERIES / "job_insert_notify.sql").read_text(encoding="utf-8")
FUNCTION_SQL = (QUERIES / "job_insert_function.sql").read_text(encoding="utf-8")
# The function's errors: SQLSTATE 22023 and "riverboat: <option>: <rule>".
FUNCTION_ERROR = re.compile(r"riverboat: ([\w.]+): (.*)", re.DOTALL)
OPTIONS = {"queue", "priority", "max_attempts", "scheduled_at", "pending", "tags", "metadata", "unique_opts"}

Conn = psycopg.Connection[dict[str, Any]]


def connect() -> Conn:
    conn = psycopg.connect(os.environ["RIVER_CONFORMANCE_DATABASE_URL"], row_factory=dict_row, autocommit=True)
    schema = os.environ.get("RIVER_CONFORMANCE_SCHEMA", "")
    if schema:
        conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
    return conn


def job_input(params: dict[str, Any]) -> dict[str, Any]:
    """Plain INSERT input: the job's columns as sent, args as their text (cast to jsonb by the statement)."""
    check_known(params, {"kind", "args", "args_json", "opts"})
    if not isinstance(params.get("kind"), str) or not params["kind"]:
        raise RpcFailure(-32602, "kind is required", {"field": "kind", "rule": "required"})
    args = args_text(params)
    opts = given(params, "opts", {})
    check_known(opts, OPTIONS)
    if given(opts, "unique_opts") is not None:
        raise RpcFailure(-32004, "plain SQL enqueue has no unique jobs")
    # The statement takes an absent member as unset; null is absent.
    return {"kind": params["kind"], "args": args, **{k: v for k, v in opts.items() if v is not None}}


def function_input(params: dict[str, Any]) -> dict[str, Any]:
    """riverboat_job_insert_v1 arguments: kind, args as encoded text, and opts, which the protocol names as the
    function does (spec/03-insert.md#json-options)."""
    check_known(params, {"kind", "args", "args_json", "opts"})
    args = args_text(params)
    if args is not None:
        # spec/13 asks callers for args compact as Go encodes them: the text as sent, compacted
        # as River Go compacts pre-encoded args (numbers, escapes and member order untouched).
        args = compact(args)
    opts = given(params, "opts", {})
    check_known(opts, OPTIONS)
    return {"kind": params.get("kind"), "args": args, "opts": opts}


def database_failure(exc: psycopg.Error) -> RpcFailure:
    match = FUNCTION_ERROR.match(str(exc).strip())
    if exc.sqlstate == "22023" and match is not None:
        return RpcFailure(-32602, str(exc).strip(), {"field": match.group(1), "rule": match.group(2)})
    return RpcFailure(-32003, str(exc).strip(), {"sqlstate": exc.sqlstate})


class SqlAdapter:
    def __init__(self, *, plain: bool) -> None:
        self._plain = plain
        self._conn = connect()
        self._txs: dict[str, Conn] = {}

    def _insert(self, conn: Conn, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not jobs:
            # The batch is this adapter's (one statement over a JSON array); it refuses an empty one as River Go does.
            raise invalid("jobs", "length", "no jobs to insert: a batch needs at least one job")
        if not self._plain:
            inputs = [function_input(job) for job in jobs]
            try:
                with conn.transaction():
                    rows = conn.execute(FUNCTION_SQL, {"jobs": json.dumps(inputs, ensure_ascii=False)}).fetchall()
            except psycopg.Error as exc:
                raise database_failure(exc) from exc
            return [
                {"job": normalize(row), "unique_skipped_as_duplicate": row["unique_skipped_as_duplicate"]}
                for row in rows
            ]
        plain_inputs = [job_input(job) for job in jobs]
        try:
            with conn.transaction():
                rows = conn.execute(INSERT_SQL, {"jobs": json.dumps(plain_inputs)}).fetchall()
                queues = sorted({row["queue"] for row in rows if row["state"] == "available"})
                conn.execute(NOTIFY_SQL, {"queues": queues})
        except psycopg.Error as exc:
            raise RpcFailure(-32003, str(exc).strip(), {"sqlstate": exc.sqlstate}) from exc
        return [{"job": normalize(row), "unique_skipped_as_duplicate": False} for row in rows]

    def _unique_key(self, params: dict[str, Any]) -> Any:
        raise RpcFailure(-32004, "SQL enqueue computes unique keys only inside an insert")

    def _tx(self, params: dict[str, Any]) -> Conn:
        handle = params.get("handle")
        if handle not in self._txs:
            raise RpcFailure(-32001, f"unknown transaction handle {handle!r}")
        return self._txs[handle]

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        if method == "handshake":
            return {
                "adapter_version": 1,
                "backend": "postgres",
                "capabilities": ["insert", "lifecycle", "transactions"]
                + (
                    []
                    if self._plain
                    else ["unique_jobs", "unique_by_args_paths", "validation", "kind_validation", "reserved_metadata"]
                ),
                "implementation": "riverboat-sql-plain" if self._plain else "riverboat-sql",
                "implementation_version": "1",
                "methods": PROFILE_METHODS,
                "migration_lines": {"main": 8},
                "profile": "insert-only-v1",
                "protocol_revision": 1,
            }
        if method == "insert":
            return self._insert(self._conn, [params])[0]
        if method == "insert_many":
            return {"results": self._insert(self._conn, params["jobs"])}
        if method == "unique_key":
            return self._unique_key(params)
        if method == "tx_begin":
            handle = params.get("handle")
            if not isinstance(handle, str) or not handle or handle in self._txs:
                raise RpcFailure(-32602, f"bad or open handle {handle!r}", {"field": "handle", "rule": "duplicate"})
            conn = connect()
            # Autocommit off and a first statement: the connection now holds one open transaction until
            # commit or rollback, and each insert's transaction() block below becomes a savepoint in it.
            conn.autocommit = False
            conn.execute("SELECT 1")
            self._txs[handle] = conn
            return {}
        if method == "tx_insert":
            return self._insert(self._tx(params), [params["job"]])[0]
        if method == "tx_insert_many":
            return {"results": self._insert(self._tx(params), params["jobs"])}
        if method in ("tx_commit", "tx_rollback"):
            conn = self._tx(params)
            del self._txs[params["handle"]]
            try:
                conn.commit() if method == "tx_commit" else conn.rollback()
            finally:
                conn.close()
            return {}
        raise RpcFailure(-32601, f"method not found: {method}")


if __name__ == "__main__":
    serve(SqlAdapter(plain="--plain" in sys.argv[1:]).handle)
