"""Conformance adapter for riverboat's Python reference client (riverboat.AsyncClient)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from riverboat import AsyncClient
from riverboat._insert import InsertManyParams, InsertOpts
from riverboat._unique import unique_key, unique_states_mask
from riverboat.args import RawArgs, encode_args
from riverboat.contract import ArgsContractError, Contract, KindContract, UnknownKindError
from riverboat.errors import ValidationError
from riverboat.job import InsertResult, Job, format_time, parse_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _stdio import (
    PROFILE_METHODS,
    QUEUE_DEFAULT,
    RpcFailure,
    args_text,
    check_known,
    given,
    protocol_unique_opts,
    serve,
)  # fmt: skip

OPTIONS = {"queue", "priority", "max_attempts", "scheduled_at", "pending", "tags", "metadata", "unique_opts"}
UNIQUE_OPTIONS = {"by_args", "by_period_seconds", "by_queue", "by_state", "exclude_kind"}


def field_name(field: str) -> str:
    """A ValidationError's field as ADAPTER.md#errors names it: the option (``unique_opts.by_args``), not a path
    inside a value (``args.items[3]`` is ``args``)."""
    head, _, rest = field.partition(".")
    if head == "unique_opts" and rest:
        return f"{head}.{rest.split('.', maxsplit=1)[0]}"
    return head.split("[", maxsplit=1)[0]


def job_json(job: Job) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return None if value is None else format_time(value)

    return {
        "id": job.id,
        "args": job.args,
        "attempt": job.attempt,
        "attempted_at": stamp(job.attempted_at),
        "attempted_by": list(job.attempted_by),
        "created_at": format_time(job.created_at),
        "errors": [error.to_json() for error in job.errors],
        "finalized_at": stamp(job.finalized_at),
        "kind": job.kind,
        "max_attempts": job.max_attempts,
        "metadata": job.metadata,
        "priority": job.priority,
        "queue": job.queue,
        "scheduled_at": format_time(job.scheduled_at),
        "state": str(job.state),
        "tags": list(job.tags),
        "unique_key": None if job.unique_key is None else job.unique_key.hex(),
        "unique_states": None if job.unique_states is None else [str(s) for s in job.unique_states],
    }


def result_json(result: InsertResult) -> dict[str, Any]:
    return {"job": job_json(result.job), "unique_skipped_as_duplicate": result.unique_skipped_as_duplicate}


def timestamp(field: str, value: Any) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise RpcFailure(-32602, f"{field} is not an RFC 3339 timestamp", {"field": field, "rule": "format"})
    return parsed


def insert_item(params: dict[str, Any]) -> InsertManyParams:
    check_known(params, {"kind", "args", "args_json", "opts"})
    return InsertManyParams(request_args(params), request_opts(given(params, "opts", {})))


def request_args(params: dict[str, Any]) -> RawArgs:
    """The args as the request spelled them: no parse and re-encode."""
    # No args at all (None) is the client's to refuse, field args.
    return RawArgs(params.get("kind", ""), args_text(params))  # type: ignore[arg-type]


def request_opts(opts: dict[str, Any]) -> InsertOpts:
    check_known(opts, OPTIONS)
    unique = given(opts, "unique_opts")
    if unique is not None:
        check_known(unique, UNIQUE_OPTIONS, "unique_opts.")
    scheduled_at = given(opts, "scheduled_at")
    return InsertOpts(
        queue=given(opts, "queue"),
        priority=given(opts, "priority"),
        max_attempts=given(opts, "max_attempts"),
        scheduled_at=None if scheduled_at is None else timestamp("scheduled_at", scheduled_at),
        pending=given(opts, "pending"),
        tags=given(opts, "tags"),
        metadata=given(opts, "metadata"),
        unique_opts=None if unique is None else protocol_unique_opts(unique),
    )


class PythonAdapter:
    def __init__(self, runner: asyncio.Runner) -> None:
        self._url = os.environ["RIVER_CONFORMANCE_DATABASE_URL"]
        self._schema = os.environ.get("RIVER_CONFORMANCE_SCHEMA") or None
        self.run = runner.run
        self._client = AsyncClient(self._url, schema=self._schema)
        self._contract_kinds: dict[str, KindContract] = {}
        self._txs: dict[str, psycopg.AsyncConnection[Any]] = {}

    def _insert(self, jobs: list[dict[str, Any]], handle: str | None = None) -> list[dict[str, Any]]:
        try:
            items = [insert_item(job) for job in jobs]
            if handle is None:
                results = self.run(self._client.insert_many(items))
            else:
                results = self.run(self._client.insert_many_tx(self.transaction(handle), items))
        except ArgsContractError as exc:
            raise RpcFailure(
                -32002, str(exc), {"reason": "contract_violation", "pointer": exc.pointer, "rule": exc.keyword}
            ) from exc
        except UnknownKindError as exc:
            raise RpcFailure(-32002, str(exc), {"reason": "unknown_kind"}) from exc
        except ValidationError as exc:
            raise RpcFailure(-32602, str(exc), {"field": field_name(exc.field), "rule": exc.rule}) from exc
        except psycopg.Error as exc:
            raise RpcFailure(-32003, str(exc).strip(), {"sqlstate": exc.sqlstate}) from exc
        return [result_json(result) for result in results]

    def transaction(self, handle: Any) -> psycopg.AsyncConnection[Any]:
        if handle not in self._txs:
            raise RpcFailure(-32001, f"unknown transaction handle {handle!r}")
        return self._txs[handle]

    def _unique_key(self, params: dict[str, Any]) -> dict[str, Any]:
        """The key an insert of these params would store at the clock ``now``; null for a job that is not unique."""
        check_known(params, {"kind", "args", "args_json", "opts", "now"})
        try:
            args = request_args(params)
            opts = request_opts(given(params, "opts", {}))
            now = timestamp("now", params.get("now"))
            unique = opts.unique_opts
            if unique is None or not unique.is_unique:
                return {"sha256": None, "state_mask": None}
            key = unique_key(
                kind=args.kind,
                encoded_args=encode_args(args),
                queue=opts.queue or QUEUE_DEFAULT,
                opts=unique,
                scheduled_at=opts.scheduled_at,
                now=now,
            )
        except ValidationError as exc:
            raise RpcFailure(-32602, str(exc), {"field": field_name(exc.field), "rule": exc.rule}) from exc
        return {"sha256": key.hex(), "state_mask": unique_states_mask(unique)}

    def _contract_load(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, {"kind", "contract"})
        kinds = {**self._contract_kinds, params["kind"]: KindContract(params["contract"])}
        try:
            contract = Contract(kinds)
        except ValidationError as exc:
            raise RpcFailure(-32602, str(exc), {"field": "contract", "rule": exc.rule}) from exc
        self._contract_kinds = kinds
        # A contract checks only the kinds it lists, so one client inserts every kind.
        self.run(self._client.close())
        self._client = AsyncClient(self._url, schema=self._schema, contract=contract)
        return {}

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        if method == "handshake":
            return {
                "adapter_version": 1,
                "backend": "postgres",
                "capabilities": [
                    "insert",
                    "lifecycle",
                    "transactions",
                    "unique_jobs",
                    "unique_key",
                    "unique_by_args_paths",
                    "validation",
                    "kind_validation",
                    "reserved_metadata",
                    "args_contract",
                ],
                "implementation": "riverboat-python",
                "implementation_version": "0.1.0",
                "methods": [*PROFILE_METHODS, "contract_load"],
                "migration_lines": {"main": 8},
                "profile": "insert-only-v1",
                "protocol_revision": 1,
            }
        if method == "insert":
            return self._insert([params])[0]
        if method == "insert_many":
            return {"results": self._insert(params["jobs"])}
        if method == "tx_insert":
            return self._insert([params["job"]], params.get("handle"))[0]
        if method == "tx_insert_many":
            return {"results": self._insert(params["jobs"], params.get("handle"))}
        if method == "unique_key":
            return self._unique_key(params)
        if method == "contract_load":
            return self._contract_load(params)
        if method == "tx_begin":
            handle = params.get("handle")
            if not isinstance(handle, str) or not handle or handle in self._txs:
                raise RpcFailure(-32602, f"bad or open handle {handle!r}", {"field": "handle", "rule": "duplicate"})
            self._txs[handle] = self.run(self._begin())
            return {}
        if method in ("tx_commit", "tx_rollback"):
            conn = self.transaction(params.get("handle"))
            del self._txs[params["handle"]]
            self.run(self._end(conn, commit=method == "tx_commit"))
            return {}
        raise RpcFailure(-32601, f"method not found: {method}")

    async def _begin(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self._url)
        if self._schema:
            await conn.execute("SELECT set_config('search_path', %s, false)", (self._schema,))
        # A first statement opens the caller's transaction; the client's own blocks nest inside it.
        await conn.execute("SELECT 1")
        return conn

    async def _end(self, conn: psycopg.AsyncConnection[Any], *, commit: bool) -> None:
        try:
            await (conn.commit() if commit else conn.rollback())
        finally:
            await conn.close()


if __name__ == "__main__":
    with asyncio.Runner() as runner:
        serve(PythonAdapter(runner).handle)
