"""Conformance adapter for riverboat's Python reference client (riverboat.AsyncClient)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from riverboat import AsyncClient
from riverboat._insert import InsertManyParams, InsertOpts
from riverboat._unique import UniqueOpts, unique_key, unique_states_mask
from riverboat.args import RawArgs, encode_args
from riverboat.contract import ArgsContractError, Contract, KindContract, UnknownKindError
from riverboat.errors import ValidationError
from riverboat.job import InsertResult, Job, format_time, parse_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _stdio import PROFILE_METHODS, RpcFailure, check_known, raw_member, serve

OPTIONS = {"queue", "priority", "max_attempts", "scheduled_at", "pending", "tags", "metadata", "unique"}
UNIQUE_OPTIONS = {"by_args", "by_period_ms", "by_queue", "by_state", "exclude_kind"}
# riverboat's ValidationError field names, as ADAPTER.md#errors names them.
FIELD_NAMES = {
    "unique_opts.by_period": "unique.by_period",
    "unique_opts.by_state": "unique.by_state",
    "unique_opts.by_args": "unique.by_args",
    "unique_opts.exclude_kind": "unique.exclude_kind",
    "unique_opts": "unique",
}


def field_name(field: str) -> str:
    for prefix, name in FIELD_NAMES.items():
        if field.startswith(prefix):
            return name
    return field.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]


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


def unique_opts(doc: dict[str, Any], period: timedelta | None) -> UniqueOpts:
    by_args = doc.get("by_args", False)
    by_state = doc.get("by_state")
    return UniqueOpts(
        by_args=by_args if isinstance(by_args, bool) else tuple(by_args),
        by_period=period,
        by_queue=bool(doc.get("by_queue", False)),
        by_state=None if by_state is None else tuple(by_state),
        exclude_kind=bool(doc.get("exclude_kind", False)),
    )


def insert_item(params: dict[str, Any]) -> InsertManyParams:
    check_known(params, {"kind", "args", "args_json", "opts"}, "insert")
    raw: Any = params["args_json"] if "args_json" in params else raw_member(params, "args")
    opts = params.get("opts", {})
    check_known(opts, OPTIONS, "opts")
    unique = opts.get("unique")
    insert_opts = None
    if opts:
        if unique is not None:
            check_known(unique, UNIQUE_OPTIONS, "unique")
        period_ms = None if unique is None else unique.get("by_period_ms")
        insert_opts = InsertOpts(
            queue=opts.get("queue"),
            priority=opts.get("priority"),
            max_attempts=opts.get("max_attempts"),
            scheduled_at=timestamp("scheduled_at", opts["scheduled_at"]) if "scheduled_at" in opts else None,
            pending=opts.get("pending"),
            tags=opts.get("tags"),
            metadata=opts.get("metadata"),
            unique_opts=None
            if unique is None
            else unique_opts(unique, None if period_ms is None else timedelta(milliseconds=period_ms)),
        )
    return InsertManyParams(RawArgs(params.get("kind", ""), raw), insert_opts)


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
        options = params.get("options", {})
        period = options.get("by_period_nanos") or 0
        selected = params.get("selected_unique_paths")
        scheduled_at = params.get("scheduled_at")
        doc = {**options, "by_args": tuple(selected) if selected is not None else options.get("by_args", False)}
        try:
            opts = unique_opts(doc, timedelta(microseconds=period / 1000) if period else None)
            raw: Any = params["args_json"] if "args_json" in params else raw_member(params, "args")
            encoded = encode_args(RawArgs(params["kind"], raw))
            key = unique_key(
                kind=params["kind"],
                encoded_args=encoded,
                queue=params.get("queue", "default"),
                opts=opts,
                scheduled_at=None if scheduled_at is None else timestamp("scheduled_at", scheduled_at),
                now=timestamp("now", params["now"]),
            )
        except ValidationError as exc:
            raise RpcFailure(-32602, str(exc), {"field": field_name(exc.field), "rule": exc.rule}) from exc
        return {"sha256": key.hex(), "state_mask": unique_states_mask(opts)}

    def _contract_load(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, {"kind", "contract"}, "contract_load")
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
                raise RpcFailure(-32602, f"bad or open handle {handle!r}", {"field": "handle", "rule": "unique"})
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
