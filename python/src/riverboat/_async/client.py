"""The client's insert and admin half (spec/03-insert.md, spec/12-queues-and-admin.md).
``AsyncClientBase`` is written here; ``ClientBase`` in ``_sync/client.py`` is generated
from it. The public ``riverboat.AsyncClient`` and ``riverboat.Client`` add working to them.
Every insert decision is made by pure functions in ``riverboat._insert``; this module only
moves their results through a connection.

Creating a client starts nothing, and a conninfo string gets a pool that opens on first use.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from riverboat._async import admin
from riverboat._completion import Completion, set_state_params
from riverboat._db import POOL_CLOSE_TIMEOUT, DatabaseTimeouts, async_owned_pool, db_deadline
from riverboat._defaults import (
    CANCELLED_JOB_RETENTION_DEFAULT,
    COMPLETED_JOB_RETENTION_DEFAULT,
    DISCARDED_JOB_RETENTION_DEFAULT,
    JOB_STUCK_THRESHOLD_DEFAULT,
    MAX_ATTEMPTS_DEFAULT,
    PRIORITY_DEFAULT,
    QUEUE_DEFAULT,
    Retention,
)
from riverboat._insert import (
    COPY_WRITE_SIZE,
    INSERT_CHUNK_SIZE,
    Batch,
    CopyText,
    InsertManyItem,
    InsertManyParams,
    InsertOpts,
    InsertParams,
    InsertResolver,
    check_batch,
    chunked,
    fold_duplicates,
    insert_many_params,
    notify_queues,
    notify_queues_of_params,
    results_in_input_order,
    split_item,
)
from riverboat._insert_chain import has_plugins, insert_chain, run_insert_chain
from riverboat._json_rows import fast_json
from riverboat._queries import query
from riverboat._retry import RetryPolicy
from riverboat._settings import ClientSettings, client_settings
from riverboat._states import JobState
from riverboat._tx_connection import AsyncTxConnection, async_tx_connection
from riverboat.admin import QUEUE_LIST_LIMIT_DEFAULT, JobListParams, JobListResult, LeaderRow, Queue
from riverboat.args import ArgsLike
from riverboat.contract import Contract
from riverboat.errors import JobNotRunningError, ValidationError
from riverboat.events import EventKind
from riverboat.job import InsertResult, Job
from riverboat.middleware import ErrorHandler, Hook, Middleware
from riverboat.periodic import PeriodicInsert, PeriodicJob
from riverboat.worker import JobStuckHandler, QueueConfig, Workers, WorkJob, current_context

C = TypeVar("C", bound="AsyncClientBase")


class AsyncClientBase:
    """Inserts jobs into ``river_job`` the way River Go does, and administers jobs and queues.

    ``pool_or_conninfo`` is a pool the caller owns, or a conninfo string for a pool this
    client owns and closes in ``close()`` (its connections get a connect timeout, TCP
    keepalives and ``tcp_user_timeout`` unless the conninfo sets them). ``schema`` (default:
    the connection's search_path) holds River's tables. ``queue``, ``max_attempts`` and
    ``priority`` are the client's insert defaults. With a ``contract``, args are checked
    against it first. ``database_timeouts`` bounds how long each kind of database call
    waits (``DatabaseTimeouts``; River's timeouts by default).

    Working (only with ``queues`` and ``workers``; otherwise the client only inserts):
    ``client_id`` (at most 100 characters; default host name and start time),
    ``retry_policy`` (default River's backoff), ``job_timeout`` (default 1 minute; negative:
    none; ``NO_TIMEOUT``), ``soft_stop_timeout`` (how long a soft stop waits for running jobs; ``None``:
    as long as they take), ``poll_only`` (no LISTEN, for PgBouncer transaction pooling),
    ``leader_election`` (``False`` keeps this client out of election: it then runs no
    maintenance and refuses periodic jobs), ``periodic_jobs``, ``rescue_stuck_jobs_after``
    (default 1 hour, counted after ``job_timeout`` when that is given; never shorter than
    ``job_timeout``), the retention of completed, cancelled and discarded jobs (``-1``: keep
    forever), ``error_handler`` (sees every failure, may cancel a job or choose its retry
    time), ``job_stuck_threshold`` (a job still running this long after its timeout is
    reported stuck; default 10 s) and ``job_stuck_handler`` (told of each stuck job; may
    give its worker slot back to the queue).

    ``middleware`` and ``hooks`` run around every insert and, for a working client, every
    job (``riverboat.middleware``).
    """

    def __init__(
        self,
        pool_or_conninfo: AsyncConnectionPool[Any] | str,
        *,
        schema: str | None = None,
        queue: str = QUEUE_DEFAULT,
        max_attempts: int = MAX_ATTEMPTS_DEFAULT,
        priority: int = PRIORITY_DEFAULT,
        contract: Contract | None = None,
        database_timeouts: DatabaseTimeouts | None = None,
        queues: Mapping[str, QueueConfig] | None = None,
        workers: Workers | None = None,
        client_id: str | None = None,
        retry_policy: RetryPolicy | None = None,
        job_timeout: timedelta | None = None,
        soft_stop_timeout: timedelta | None = None,
        poll_only: bool = False,
        leader_election: bool = True,
        periodic_jobs: Sequence[PeriodicJob] = (),
        rescue_stuck_jobs_after: timedelta | None = None,
        completed_job_retention: Retention = COMPLETED_JOB_RETENTION_DEFAULT,
        cancelled_job_retention: Retention = CANCELLED_JOB_RETENTION_DEFAULT,
        discarded_job_retention: Retention = DISCARDED_JOB_RETENTION_DEFAULT,
        middleware: Sequence[Middleware] = (),
        hooks: Sequence[Hook] = (),
        error_handler: ErrorHandler | None = None,
        job_stuck_threshold: timedelta = JOB_STUCK_THRESHOLD_DEFAULT,
        job_stuck_handler: JobStuckHandler | None = None,
    ) -> None:
        settings = client_settings(
            schema=schema,
            queue=queue,
            max_attempts=max_attempts,
            priority=priority,
            contract=contract,
            database_timeouts=database_timeouts,
            queues=queues,
            workers=workers,
            client_id=client_id,
            retry_policy=retry_policy,
            job_timeout=job_timeout,
            soft_stop_timeout=soft_stop_timeout,
            poll_only=poll_only,
            leader_election=leader_election,
            periodic_jobs=periodic_jobs,
            rescue_stuck_jobs_after=rescue_stuck_jobs_after,
            completed_job_retention=completed_job_retention,
            cancelled_job_retention=cancelled_job_retention,
            discarded_job_retention=discarded_job_retention,
            middleware=middleware,
            hooks=hooks,
            error_handler=error_handler,
            job_stuck_threshold=job_stuck_threshold,
            job_stuck_handler=job_stuck_handler,
        )
        self._init_with(pool_or_conninfo, settings)

    @classmethod
    def _from_settings(cls: type[C], pool_or_conninfo: AsyncConnectionPool[Any] | str, settings: ClientSettings) -> C:
        client = cls.__new__(cls)
        client._init_with(pool_or_conninfo, settings)
        return client

    def _init_with(self, pool_or_conninfo: AsyncConnectionPool[Any] | str, settings: ClientSettings) -> None:
        self._settings = settings
        self._schema = settings.schema
        self._defaults = settings.defaults
        self._contract = settings.contract
        self._insert_seconds = settings.database_timeouts.insert.total_seconds()
        self._admin_seconds = settings.database_timeouts.admin.total_seconds()
        if isinstance(pool_or_conninfo, str):
            self._pool: AsyncConnectionPool[Any] = async_owned_pool(pool_or_conninfo, settings.database_timeouts)
            self._owns_pool = True
        elif isinstance(pool_or_conninfo, AsyncConnectionPool):
            self._pool = pool_or_conninfo
            self._owns_pool = False
        else:
            raise ValidationError(
                "pool_or_conninfo", "type", "must be a connection pool or a conninfo string", pool_or_conninfo
            )

    @property
    def schema(self) -> str | None:
        """The schema of River's tables (``None``: the connection's search_path)."""
        return self._schema

    async def __aenter__(self: C) -> C:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pool if this client created it; a caller's pool is left open."""
        if self._owns_pool:
            await self._pool.close(timeout=POOL_CLOSE_TIMEOUT)

    async def _ready_pool(self) -> AsyncConnectionPool[Any]:
        if self._owns_pool:
            await self._pool.open()
        return self._pool

    @asynccontextmanager
    async def _connection(self, seconds: float, what: str) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection for one call that gives up after ``seconds``."""
        pool = await self._ready_pool()
        async with db_deadline(seconds, what), pool.connection(timeout=seconds) as conn:
            yield conn

    def _admin(self, what: str) -> AbstractAsyncContextManager[AsyncConnection[Any]]:
        return self._connection(self._admin_seconds, what)

    def _prepare(
        self, items: Sequence[InsertManyItem], extra_metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> list[InsertParams]:
        """Resolve and validate every job before touching the database: one bad job
        rejects the whole batch. ``extra_metadata`` (one per item) is riverboat's own,
        merged after the user's metadata is checked, so it may use reserved keys."""
        check_batch(items)
        return list(self._prepared(items, extra_metadata))

    def _prepare_each(
        self, items: Sequence[InsertManyItem], extra_metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> Iterable[InsertParams]:
        """``_prepare`` one job at a time, for inserts that send earlier jobs while later
        ones are prepared (only in a transaction of their own, and only without insert
        middleware or hooks, which see the whole batch)."""
        check_batch(items)
        if has_plugins(items, self._settings.middleware, self._settings.hooks):
            return self._prepare(items, extra_metadata)
        return self._prepared(items, extra_metadata)

    def _prepared(
        self, items: Sequence[InsertManyItem], extra_metadata: Sequence[Mapping[str, Any]] | None
    ) -> Iterable[InsertParams]:
        resolver = InsertResolver(self._defaults, datetime.now(UTC))
        contract = self._contract
        if contract is None and extra_metadata is None:
            # What _prepare_one does without a contract or metadata of our own, without its
            # per-job call: a bulk insert's usual case.
            build = resolver.build
            for item in items:
                one = split_item(item)
                yield build(one.args, one.opts)
            return
        for index, item in enumerate(items):
            yield self._prepare_one(resolver, contract, item, None if extra_metadata is None else extra_metadata[index])

    @staticmethod
    def _prepare_one(
        resolver: InsertResolver,
        contract: Contract | None,
        item: InsertManyItem,
        extra_metadata: Mapping[str, Any] | None,
    ) -> InsertParams:
        one = split_item(item)
        args = one.args if contract is None else contract.with_defaults(one.args)
        params = resolver.build(args, one.opts, extra_metadata)
        if contract is not None:
            contract.check(params.kind, params.args)
        return params

    async def insert(self, args: ArgsLike, opts: InsertOpts | None = None) -> InsertResult:
        """Insert one job in a transaction of its own."""
        return (await self.insert_many([InsertManyParams(args, opts)]))[0]

    async def insert_tx(self, conn: AsyncTxConnection, args: ArgsLike, opts: InsertOpts | None = None) -> InsertResult:
        """Insert one job in the caller's transaction on ``conn``."""
        return (await self.insert_many_tx(conn, [InsertManyParams(args, opts)]))[0]

    async def insert_many(self, items: Sequence[InsertManyItem]) -> list[InsertResult]:
        """Insert jobs in one transaction of their own; results in input order."""
        rows = self._prepare_each(items)
        # A bad job raises while earlier chunks are sent; the transaction, ours alone, rolls back.
        async with self._connection(self._insert_seconds, "insert") as conn:
            return await self._insert_rows(conn, items, rows)

    async def insert_many_tx(self, conn: AsyncTxConnection, items: Sequence[InsertManyItem]) -> list[InsertResult]:
        """Insert jobs in the caller's transaction on ``conn``; results in input order."""
        conn = await async_tx_connection(conn)
        # Every job is checked first: a failed statement would abort the caller's transaction.
        rows = self._prepare(items)
        async with db_deadline(self._insert_seconds, "insert"):
            return await self._insert_rows(conn, items, rows)

    async def insert_many_fast(self, items: Sequence[InsertManyItem]) -> int:
        """Insert non-unique jobs with COPY in a transaction of their own; returns the count."""
        rows = self._prepare_each(items)
        # Rows are made while COPY streams the earlier ones, so the server works beside
        # us; a bad job raises mid-COPY and its transaction, ours alone, rolls back.
        async with self._connection(self._insert_seconds, "insert") as conn:
            return await self._copy_rows(conn, items, rows)

    async def insert_many_fast_tx(self, conn: AsyncTxConnection, items: Sequence[InsertManyItem]) -> int:
        """Insert non-unique jobs with COPY in the caller's transaction; returns the count."""
        conn = await async_tx_connection(conn)
        # Every job is checked first: a failed COPY would abort the caller's transaction.
        rows = self._prepare(items)
        async with db_deadline(self._insert_seconds, "insert"):
            return await self._copy_rows(conn, items, rows)

    async def _insert_periodic(self, inserts: Sequence[PeriodicInsert]) -> list[InsertResult]:
        """Insert what the periodic job enqueuer built: at its run time unless the job's
        options set a time, with the periodic metadata River Go writes."""
        items = []
        for periodic in inserts:
            opts = periodic.opts if periodic.opts is not None else InsertOpts()
            if not isinstance(opts, InsertOpts):
                raise ValidationError(
                    "periodic_jobs", "type", "a constructor must return (args, InsertOpts | None)", opts
                )
            items.append(
                InsertManyParams(periodic.args, replace(opts, scheduled_at=opts.scheduled_at or periodic.scheduled_at))
            )
        rows = self._prepare(items, [periodic.metadata for periodic in inserts])
        async with self._connection(self._insert_seconds, "insert") as conn:
            return await self._insert_rows(conn, items, rows)

    async def _insert_rows(
        self, conn: AsyncConnection[Any], items: Sequence[InsertManyItem], rows: Iterable[InsertParams]
    ) -> list[InsertResult]:
        """Insert ``rows`` (made from ``items``) through the insert middleware and hooks."""
        if not has_plugins(items, self._settings.middleware, self._settings.hooks):
            return await self._insert(conn, rows)
        chain = insert_chain(items, list(rows), self._settings.middleware, self._settings.hooks)
        return await run_insert_chain(chain, functools.partial(self._insert, conn))

    async def _copy_rows(
        self, conn: AsyncConnection[Any], items: Sequence[InsertManyItem], rows: Iterable[InsertParams]
    ) -> int:
        """COPY ``rows`` (made from ``items``) through the insert middleware and hooks."""
        if not has_plugins(items, self._settings.middleware, self._settings.hooks):
            return await self._copy(conn, rows)
        copied = 0

        async def copy(chained: list[InsertParams]) -> list[InsertResult]:
            nonlocal copied
            copied = await self._copy(conn, chained)
            return []

        await run_insert_chain(insert_chain(items, list(rows), self._settings.middleware, self._settings.hooks), copy)
        return copied

    async def _insert(self, conn: AsyncConnection[Any], rows: Iterable[InsertParams]) -> list[InsertResult]:
        statement = query("job_insert_many", self._schema)
        sent: list[tuple[Batch, AsyncCursor[Any]]] = []
        # An autocommit connection gets a transaction so the rows and their notification
        # commit together; otherwise the caller's transaction is used as it is. Chunks are
        # pipelined: the server inserts one while the next is prepared and sent.
        async with conn.transaction() if conn.autocommit else nullcontext(), conn.pipeline():
            for chunk in chunked(rows, INSERT_CHUNK_SIZE):
                batch = fold_duplicates(chunk)
                cur = fast_json(conn.cursor(row_factory=dict_row))
                await cur.execute(statement, insert_many_params(batch.rows, cur))
                sent.append((batch, cur))
            results = []
            for batch, cur in sent:
                async with cur:
                    results.extend(results_in_input_order(batch, await cur.fetchall()))
            await self._notify(conn, notify_queues(results))
        return results

    async def _copy(self, conn: AsyncConnection[Any], rows: Iterable[InsertParams]) -> int:
        copied: list[InsertParams] = []
        async with conn.transaction() if conn.autocommit else nullcontext(), conn.cursor(row_factory=dict_row) as cur:
            async with cur.copy(query("job_insert_copy", self._schema)) as copy:
                text = CopyText(cur)
                for row in rows:
                    text.add(row)
                    copied.append(row)
                    if len(text) >= COPY_WRITE_SIZE:
                        await copy.write(text.take())
                await copy.write(text.take())
            await self._notify(conn, notify_queues_of_params(copied))
        return len(copied)

    async def _notify(self, conn: AsyncConnection[Any], queues: list[str]) -> None:
        if queues:
            await conn.execute(query("queue_notify_insert", self._schema), {"schema": self._schema, "queues": queues})

    # Admin operations (spec/12-queues-and-admin.md). As in River, each has a ``_tx`` form
    # that runs in the caller's transaction on ``conn``; the plain form runs the same
    # operation on a pooled connection, in a transaction of its own.

    async def job_get(self, job_id: int) -> Job:
        """The job with ``job_id``; ``JobNotFoundError`` if there is none."""
        async with self._admin("job_get") as conn:
            return await self.job_get_tx(conn, job_id)

    async def job_get_tx(self, conn: AsyncConnection[Any], job_id: int) -> Job:
        """``job_get`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_get"):
            return await admin.job_get(conn, self._schema, job_id)

    async def job_list(self, params: JobListParams | None = None) -> JobListResult:
        """One page of jobs matching ``params``; ``result.next_cursor`` (as ``params.cursor``) fetches the next."""
        async with self._admin("job_list") as conn:
            return await self.job_list_tx(conn, params)

    async def job_list_tx(self, conn: AsyncConnection[Any], params: JobListParams | None = None) -> JobListResult:
        """``job_list`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_list"):
            return await admin.job_list(conn, self._schema, params)

    async def job_cancel(self, job_id: int) -> Job:
        """Cancel a job (a running one is asked to stop, wherever it runs); returns its row."""
        async with self._admin("job_cancel") as conn:
            return await self.job_cancel_tx(conn, job_id)

    async def job_cancel_tx(self, conn: AsyncConnection[Any], job_id: int) -> Job:
        """``job_cancel`` in the caller's transaction: the change and the notification that
        asks a running job to stop take effect when it commits."""
        async with db_deadline(self._admin_seconds, "job_cancel"):
            return await admin.job_cancel(conn, self._schema, job_id)

    async def job_retry(self, job_id: int) -> Job:
        """Make a job available to run now; returns its row."""
        async with self._admin("job_retry") as conn:
            return await self.job_retry_tx(conn, job_id)

    async def job_retry_tx(self, conn: AsyncConnection[Any], job_id: int) -> Job:
        """``job_retry`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_retry"):
            return await admin.job_retry(conn, self._schema, job_id)

    async def job_delete(self, job_id: int) -> Job:
        """Delete a job that is not running; returns the deleted row."""
        async with self._admin("job_delete") as conn:
            return await self.job_delete_tx(conn, job_id)

    async def job_delete_tx(self, conn: AsyncConnection[Any], job_id: int) -> Job:
        """``job_delete`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_delete"):
            return await admin.job_delete(conn, self._schema, job_id)

    async def job_delete_many(self, params: JobListParams, *, unsafe_all: bool = False) -> list[Job]:
        """Delete up to ``params.limit`` jobs matching its filters (never running ones); with
        no filter, only when ``unsafe_all`` is true."""
        async with self._admin("job_delete_many") as conn:
            return await self.job_delete_many_tx(conn, params, unsafe_all=unsafe_all)

    async def job_delete_many_tx(
        self, conn: AsyncConnection[Any], params: JobListParams, *, unsafe_all: bool = False
    ) -> list[Job]:
        """``job_delete_many`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_delete_many"):
            return await admin.job_delete_many(conn, self._schema, params, unsafe_all=unsafe_all)

    async def job_update(self, job_id: int, *, output: Any = None) -> Job:
        """Set a job's output (``metadata.output``), River's JobUpdate. Inside ``work`` of
        that job and without ``output``, writes the output recorded so far."""
        async with self._admin("job_update") as conn:
            return await self.job_update_tx(conn, job_id, output=output)

    async def job_update_tx(self, conn: AsyncConnection[Any], job_id: int, *, output: Any = None) -> Job:
        """``job_update`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "job_update"):
            return await admin.job_update(conn, self._schema, job_id, output)

    async def queue_get(self, name: str) -> Queue:
        """The queue named ``name``; ``QueueNotFoundError`` if no client registered it."""
        async with self._admin("queue_get") as conn:
            return await self.queue_get_tx(conn, name)

    async def queue_get_tx(self, conn: AsyncConnection[Any], name: str) -> Queue:
        """``queue_get`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "queue_get"):
            return await admin.queue_get(conn, self._schema, name)

    async def queue_list(self, limit: int = QUEUE_LIST_LIMIT_DEFAULT) -> list[Queue]:
        """Registered queues by name."""
        async with self._admin("queue_list") as conn:
            return await self.queue_list_tx(conn, limit)

    async def queue_list_tx(self, conn: AsyncConnection[Any], limit: int = QUEUE_LIST_LIMIT_DEFAULT) -> list[Queue]:
        """``queue_list`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "queue_list"):
            return await admin.queue_list(conn, self._schema, limit)

    async def queue_pause(self, name: str) -> None:
        """Pause a queue (``'*'``: every queue) for every client, River Go's included."""
        async with self._admin("queue_pause") as conn:
            await self.queue_pause_tx(conn, name)

    async def queue_pause_tx(self, conn: AsyncConnection[Any], name: str) -> None:
        """``queue_pause`` in the caller's transaction: producers hear of it when it commits."""
        async with db_deadline(self._admin_seconds, "queue_pause"):
            await admin.queue_pause(conn, self._schema, name)

    async def queue_resume(self, name: str) -> None:
        """Resume a paused queue (``'*'``: every queue)."""
        async with self._admin("queue_resume") as conn:
            await self.queue_resume_tx(conn, name)

    async def queue_resume_tx(self, conn: AsyncConnection[Any], name: str) -> None:
        """``queue_resume`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "queue_resume"):
            await admin.queue_resume(conn, self._schema, name)

    async def queue_update(self, name: str, metadata: dict[str, Any]) -> Queue:
        """Replace a queue's metadata."""
        async with self._admin("queue_update") as conn:
            return await self.queue_update_tx(conn, name, metadata)

    async def queue_update_tx(self, conn: AsyncConnection[Any], name: str, metadata: dict[str, Any]) -> Queue:
        """``queue_update`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "queue_update"):
            return await admin.queue_update(conn, self._schema, name, metadata)

    async def leader_get(self) -> LeaderRow | None:
        """The elected leader, River Go or riverboat, or ``None``."""
        async with self._admin("leader_get") as conn:
            return await self.leader_get_tx(conn)

    async def leader_get_tx(self, conn: AsyncConnection[Any]) -> LeaderRow | None:
        """``leader_get`` in the caller's transaction."""
        async with db_deadline(self._admin_seconds, "leader_get"):
            return await admin.leader_get(conn, self._schema)

    async def leader_request_resign(self) -> None:
        """Ask the current leader to step down and re-run election."""
        async with self._admin("leader_request_resign") as conn:
            await self.leader_request_resign_tx(conn)

    async def leader_request_resign_tx(self, conn: AsyncConnection[Any]) -> None:
        """``leader_request_resign`` in the caller's transaction: sent when it commits."""
        async with db_deadline(self._admin_seconds, "leader_request_resign"):
            await admin.leader_request_resign(conn, self._schema)

    async def complete_tx(self, conn: AsyncTxConnection, job: WorkJob[Any] | Job) -> Job:
        """Complete the job being worked inside the caller's transaction on ``conn``, so the
        completion commits (or rolls back) with the work's own writes (River's
        ``JobCompleteTx``). Call it from ``work``; metadata set so far goes with it. Once
        that transaction commits, the job stays completed whatever ``work`` then returns or
        raises. ``JobNotRunningError`` if the job was finalized, cancelled or rescued
        meanwhile. Returns the completed row."""
        context = current_context()
        conn = await async_tx_connection(conn)
        row = job.row if isinstance(job, WorkJob) else job
        if row.id != context.job.id:
            raise ValidationError("job", "conflict", "is not the job being worked here", row.id)
        if row.state is not JobState.RUNNING:
            raise JobNotRunningError(row.id, row.state.value)
        completion = Completion(
            job_id=row.id,
            state=JobState.COMPLETED.value,
            outcome=EventKind.COMPLETED,
            duration=timedelta(0),
            finalized_at=datetime.now(UTC),
            metadata_updates=dict(context.metadata_updates) or None,
        )
        async with fast_json(conn.cursor(row_factory=dict_row)) as cur:
            await cur.execute(
                query("job_set_state_if_running_many", self._schema),
                set_state_params([completion], read_rows=True, attempted_at=[row.attempted_at]),
            )
            stored = await cur.fetchone()
        if stored is None or not stored["was_running"]:
            raise JobNotRunningError(row.id, None if stored is None else stored["state"])
        context.completed_in_tx = True
        return Job.from_row(stored)
