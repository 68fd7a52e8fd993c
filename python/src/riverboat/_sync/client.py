# Generated from the _async twin by scripts/generate_sync.py. Do not edit.
"""The insert client (spec/03-insert.md). ``AsyncClient`` is written here; ``Client`` in
``_sync/client.py`` is generated from it. Every decision is made by pure functions in
``riverboat._insert``; this module only moves their results through a connection.

A client only inserts: creating one starts nothing, and a conninfo string gets a pool
that opens on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from psycopg import Connection, Cursor
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from riverboat._identifiers import validate_schema_name
from riverboat._insert import (
    ClientDefaults,
    InsertManyItem,
    InsertManyParams,
    InsertOpts,
    InsertParams,
    batch_arrays,
    build_insert_params,
    copy_row,
    fold_duplicates,
    notify_queues,
    notify_queues_of_params,
    results_in_input_order,
    split_item,
)
from riverboat._queries import query
from riverboat.args import ArgsLike
from riverboat.contract import Contract
from riverboat.errors import ValidationError
from riverboat.job import InsertResult


class Client:
    """Inserts jobs into ``river_job`` the way River Go does.

    ``pool_or_conninfo`` is a pool the caller owns, or a conninfo string for a pool this
    client owns and closes in ``close()``. ``schema`` (default: the connection's
    search_path) holds River's tables. ``queue``, ``max_attempts`` and ``priority`` are
    the client's defaults. With a ``contract``, args are checked against it first.
    """

    def __init__(
        self,
        pool_or_conninfo: ConnectionPool[Any] | str,
        *,
        schema: str | None = None,
        queue: str = "default",
        max_attempts: int = 25,
        priority: int = 1,
        contract: Contract | None = None,
    ) -> None:
        self._schema = None if schema is None else validate_schema_name(schema)
        self._defaults = ClientDefaults(queue=queue, priority=priority, max_attempts=max_attempts)
        if contract is not None and not isinstance(contract, Contract):
            raise ValidationError("contract", "must be a riverboat.contract.Contract", contract)
        self._contract = contract
        if isinstance(pool_or_conninfo, str):
            self._pool: ConnectionPool[Any] = ConnectionPool(pool_or_conninfo, min_size=1, open=False)
            self._owns_pool = True
        elif isinstance(pool_or_conninfo, ConnectionPool):
            self._pool = pool_or_conninfo
            self._owns_pool = False
        else:
            raise ValidationError(
                "pool_or_conninfo", "must be a connection pool or a conninfo string", pool_or_conninfo
            )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pool if this client created it; a caller's pool is left open."""
        if self._owns_pool:
            self._pool.close()

    def _ready_pool(self) -> ConnectionPool[Any]:
        if self._owns_pool:
            self._pool.open()
        return self._pool

    def _prepare(self, items: Sequence[InsertManyItem]) -> list[InsertParams]:
        """Resolve and validate every job before touching the database: one bad job
        rejects the whole batch."""
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ValidationError("insert_many", "must be a list of jobs", items)
        now = datetime.now(UTC)
        prepared = []
        for item in items:
            one = split_item(item)
            args = one.args if self._contract is None else self._contract.with_defaults(one.args)
            params = build_insert_params(args, one.opts, self._defaults, now)
            if self._contract is not None:
                self._contract.check(params.kind, params.args)
            prepared.append(params)
        return prepared

    def insert(self, args: ArgsLike, opts: InsertOpts | None = None) -> InsertResult:
        """Insert one job in a transaction of its own."""
        return (self.insert_many([InsertManyParams(args, opts)]))[0]

    def insert_tx(
        self, conn: Connection[Any], args: ArgsLike, opts: InsertOpts | None = None
    ) -> InsertResult:
        """Insert one job in the caller's transaction on ``conn``."""
        return (self.insert_many_tx(conn, [InsertManyParams(args, opts)]))[0]

    def insert_many(self, items: Sequence[InsertManyItem]) -> list[InsertResult]:
        """Insert jobs in one statement and one transaction of their own; results in input order."""
        rows = self._prepare(items)
        pool = self._ready_pool()
        with pool.connection() as conn:
            return self._insert(conn, rows)

    def insert_many_tx(self, conn: Connection[Any], items: Sequence[InsertManyItem]) -> list[InsertResult]:
        """Insert jobs in one statement in the caller's transaction on ``conn``."""
        return self._insert(conn, self._prepare(items))

    def insert_many_fast(self, items: Sequence[InsertManyItem]) -> int:
        """Insert non-unique jobs with COPY in a transaction of their own; returns the count."""
        rows = self._prepare(items)
        pool = self._ready_pool()
        with pool.connection() as conn:
            return self._copy(conn, rows)

    def insert_many_fast_tx(self, conn: Connection[Any], items: Sequence[InsertManyItem]) -> int:
        """Insert non-unique jobs with COPY in the caller's transaction; returns the count."""
        return self._copy(conn, self._prepare(items))

    def _insert(self, conn: Connection[Any], rows: list[InsertParams]) -> list[InsertResult]:
        if not rows:
            return []
        batch = fold_duplicates(rows)
        # An autocommit connection gets a transaction so the rows and their notification
        # commit together; otherwise the caller's transaction is used as it is.
        with conn.transaction() if conn.autocommit else nullcontext(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query("job_insert_many", self._schema), batch_arrays(batch.rows))
            results = results_in_input_order(batch, cur.fetchall())
            self._notify(cur, notify_queues(results))
        return results

    def _copy(self, conn: Connection[Any], rows: list[InsertParams]) -> int:
        copy_rows = [copy_row(row) for row in rows]
        if not copy_rows:
            return 0
        with conn.transaction() if conn.autocommit else nullcontext(), conn.cursor(row_factory=dict_row) as cur:
            with cur.copy(query("job_insert_copy", self._schema)) as copy:
                for values in copy_rows:
                    copy.write_row(values)
            self._notify(cur, notify_queues_of_params(rows))
        return len(copy_rows)

    def _notify(self, cur: Cursor[Any], queues: list[str]) -> None:
        if queues:
            cur.execute(query("queue_notify_insert", self._schema), {"schema": self._schema, "queues": queues})
