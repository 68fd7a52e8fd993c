"""Deliberately wrong adapters: riverboat's Python adapter with one lie, to show the runner catches it.

    conformance/liars/liar.py --lie=KIND

Each lie is what a buggy or dishonest client could do; `tests/test_conformance.py` runs the
runner against every one and expects it to fail the lied-about case, naming the column or
the check (README.md#liars).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "adapters" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "adapters"))
from _stdio import RpcFailure, normalize, serve
from adapter import PythonAdapter

LIES = {
    "wrong_state": "writes pending and scheduled jobs as available, and reports the state that was asked for",
    "wrong_unique_key": "stores and reports a unique key that is not the spec's",
    "wrong_priority": "writes and reports priority 2 where no priority was given (the default is 1)",
    "dropped_tags": "drops the tags, and reports the row without them",
    "non_transactional": "runs tx_insert outside any transaction; commit and rollback do nothing",
    "unsupported_declared": "declares transactions, then answers -32004 unsupported to tx_begin",
    "duplicate_as_inserted": "reports a unique duplicate as newly inserted",
    "stale_duplicate": "reports a duplicate as the fresh job it did not insert, not the live row",
    # Bad input: each strikes at the insert of args {"to": "a@example.com"} (insert/defaults).
    "crash": "exits in the middle of a case",
    "hang": "never answers",
    "garbage": "writes a line that is not JSON",
    "wrong_id": "answers with another request's id",
    "malformed": "answers with both a result and an error",
}
TRIGGER_ARGS = {"to": "a@example.com"}
INSERTS = {"insert", "insert_many", "tx_insert", "tx_insert_many"}


def results_of(method: str, answer: Any) -> list[dict[str, Any]]:
    """The insert results in an insert method's answer."""
    return [answer] if method in ("insert", "tx_insert") else list(answer["results"])


class Liar:
    def __init__(self, lie: str, inner: PythonAdapter) -> None:
        self._lie = lie
        self._inner = inner
        self._url = os.environ["RIVER_CONFORMANCE_DATABASE_URL"]
        self._fake_handles: set[str] = set()
        # The runner numbers its requests 1, 2, 3… per adapter process.
        self._request_id = 0

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        self._request_id += 1
        if method == "insert" and params.get("args") == TRIGGER_ARGS and self._lie in ("crash", "hang", "garbage"):
            self._break_transport()
        if method == "insert" and params.get("args") == TRIGGER_ARGS and self._lie in ("wrong_id", "malformed"):
            self._answer_badly()
        if self._lie == "non_transactional" and method.startswith("tx_"):
            return self._without_transaction(method, params)
        if self._lie == "unsupported_declared" and method == "tx_begin":
            raise RpcFailure(-32004, "transactions are not supported")
        if method in INSERTS and self._lie in ("wrong_priority", "dropped_tags"):
            params = self._rewrite_params(method, params)
        answer = self._inner.handle(method, params)
        if method in INSERTS:
            self._lie_about(results_of(method, answer), params.get("handle"))
        return answer

    def _break_transport(self) -> None:
        print(f"liar: about to misbehave: {self._lie}", file=sys.stderr, flush=True)
        if self._lie == "crash":
            os._exit(3)
        if self._lie == "hang":
            threading.Event().wait()
        sys.stdout.write("this is not json\n")
        sys.stdout.flush()

    def _answer_badly(self) -> None:
        print(f"liar: about to misbehave: {self._lie}", file=sys.stderr, flush=True)
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": self._request_id, "result": {}}
        if self._lie == "wrong_id":
            response["id"] = 987654
        else:
            response["error"] = {"code": -32000, "message": "and a result too"}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()

    def _without_transaction(self, method: str, params: dict[str, Any]) -> Any:
        handle = params.get("handle")
        if method == "tx_begin":
            self._fake_handles.add(str(handle))
            return {}
        if handle not in self._fake_handles:
            raise RpcFailure(-32001, f"unknown transaction handle {handle!r}")
        if method == "tx_insert":
            return self._inner.handle("insert", params["job"])
        if method == "tx_insert_many":
            return self._inner.handle("insert_many", {"jobs": params["jobs"]})
        self._fake_handles.discard(str(handle))
        return {}

    def _rewrite_params(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request with this liar's change to every job's options, made in place: the request keeps
        the text of its args (ADAPTER.md#insert-params)."""
        jobs = params["jobs"] if method in ("insert_many", "tx_insert_many") else [params.get("job", params)]
        for job in jobs:
            opts = job.setdefault("opts", {})
            if self._lie == "wrong_priority":
                opts.setdefault("priority", 2)
            else:
                opts.pop("tags", None)
        return params

    def _lie_about(self, results: list[dict[str, Any]], handle: str | None) -> None:
        fresh = [r for r in results if not r["unique_skipped_as_duplicate"]]
        if self._lie == "wrong_state":
            ids = [r["job"]["id"] for r in fresh if r["job"]["state"] != "available"]
            self._update(handle, ids, "state = 'available'")
        if self._lie == "wrong_unique_key":
            ids = [r["job"]["id"] for r in fresh if r["job"]["unique_key"] is not None]
            rows = self._update(handle, ids, "unique_key = sha256(unique_key)")
            for result in fresh:
                result["job"] = rows.get(result["job"]["id"], result["job"])
        for result in results:
            if self._lie == "duplicate_as_inserted":
                result["unique_skipped_as_duplicate"] = False
            if self._lie == "stale_duplicate" and result["unique_skipped_as_duplicate"]:
                result["job"] |= {"state": "available", "attempt": 0, "attempted_at": None, "finalized_at": None}

    def _update(self, handle: str | None, ids: list[int], assignment: str) -> dict[int, dict[str, Any]]:
        """Rewrites rows behind the client's back, in the insert's own transaction if it had one."""
        if not ids:
            return {}
        statement = f"UPDATE river_job SET {assignment} WHERE id = ANY(%s) RETURNING *".encode()
        if handle is None:
            with psycopg.connect(self._url, autocommit=True, row_factory=dict_row) as conn:
                rows = conn.execute(statement, (ids,)).fetchall()
        else:
            conn = self._inner.transaction(handle)

            async def update() -> list[dict[str, Any]]:
                async with conn.cursor(row_factory=dict_row) as cursor:
                    await cursor.execute(statement, (ids,))
                    return await cursor.fetchall()

            rows = self._inner.run(update())
        return {row["id"]: normalize(row) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lie", required=True, choices=sorted(LIES))
    lie = parser.parse_args().lie
    with asyncio.Runner() as runner:
        serve(Liar(lie, PythonAdapter(runner)).handle)


if __name__ == "__main__":
    main()
