"""The public clients: ``AsyncClient`` for asyncio programs and ``Client`` for plain ones.

Both insert and administer (their generated bases in ``riverboat._async.client`` and
``riverboat._sync.client``). Created with ``queues`` and ``workers`` they also work jobs:
``AsyncClient`` with ``await start()`` / ``stop()`` / ``stop_and_cancel()``, ``Client``
with a blocking ``run()`` that another thread (or a signal) ends with ``stop()`` or
``stop_and_cancel()``. Working always runs on asyncio: a sync worker's ``work`` runs in
a thread pool, so ``Client.run()`` hosts an event loop of its own.
"""

from __future__ import annotations

import asyncio
import threading

from riverboat._async.client import AsyncClientBase
from riverboat._preflight import check_database
from riverboat._run_log import log_started, log_stopped
from riverboat._settings import WorkSettings
from riverboat._sync.client import ClientBase
from riverboat._working import Working, serve
from riverboat.errors import RiverboatError, ValidationError
from riverboat.events import Events
from riverboat.worker import current_context

_INSERT_ONLY = "this client was created without queues and workers, so it only inserts"


def _settings_of(client: AsyncClientBase | ClientBase) -> WorkSettings:
    work = client._settings.work
    if work is None:
        raise ValidationError("workers", "required", _INSERT_ONLY)
    return work


class AsyncClient(AsyncClientBase):
    __doc__ = AsyncClientBase.__doc__

    _working: Working | None = None
    #: What ``current_sync_client()`` gives ``def`` workers: the sync client this one works
    #: for (``Client.run``), else one made on first use with this client's settings.
    _sync_client: Client | None = None
    _owns_sync_client = False
    _sync_client_lock = threading.Lock()

    @property
    def events(self) -> Events:
        """Job events (completed, failed, ...) of this client's workers, to subscribe to."""
        return _settings_of(self).events

    @property
    def client_id(self) -> str:
        return _settings_of(self).client_id

    @property
    def is_leader(self) -> bool:
        """Whether this client currently leads (runs maintenance and periodic jobs)."""
        working = self._working
        return working is not None and working.elector is not None and working.elector.is_leader

    async def start(self) -> None:
        """Start working: producers, listener, elector. Returns once jobs are being fetched.
        Fails at once with ``DatabaseConnectionError`` if the database cannot be reached and
        ``SchemaNotMigratedError`` if it is not migrated."""
        settings = _settings_of(self)
        if self._working is not None:
            raise RiverboatError("client is already started")
        await check_database(self._pool, self._schema)
        working = Working(
            pool=await self._ready_pool(),
            schema=self._schema,
            settings=settings,
            contract=self._contract,
            insert_periodic=self._insert_periodic,
            middleware=self._settings.middleware,
            hooks=self._settings.hooks,
            client=self,
        )
        await working.start()
        self._working = working
        log_started(settings, self._pool, self._schema)

    async def stop(self) -> None:
        """Soft stop: fetch no more, let running jobs finish (up to ``soft_stop_timeout``)."""
        await self._stop(cancel=False)

    async def stop_and_cancel(self) -> None:
        """Stop now: running jobs are cancelled and retried later. Also ends a soft stop
        that is waiting for them."""
        await self._stop(cancel=True)

    async def _stop(self, *, cancel: bool) -> None:
        working = self._working
        if working is None:
            return
        await (working.stop_and_cancel() if cancel else working.stop())
        if self._working is working:
            self._working = None
            log_stopped(_settings_of(self).client_id)

    async def close(self) -> None:
        await self.stop()
        if self._owns_sync_client and self._sync_client is not None:
            await asyncio.to_thread(self._sync_client.close)
        await super().close()

    def _sync_twin(self) -> Client:
        with self._sync_client_lock:
            if self._sync_client is None:
                conninfo = self._pool.conninfo
                if not isinstance(conninfo, str):
                    raise ValidationError("pool", "type", "must have a conninfo string to give def workers a client")
                self._sync_client = Client._from_settings(conninfo, self._settings)
                self._owns_sync_client = True
            return self._sync_client


class Client(ClientBase):
    __doc__ = ClientBase.__doc__

    _stop_requests: asyncio.Queue[bool] | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def events(self) -> Events:
        """Job events (completed, failed, ...) of this client's workers, to subscribe to."""
        return _settings_of(self).events

    @property
    def client_id(self) -> str:
        return _settings_of(self).client_id

    def run(self, *, handle_signals: bool = True) -> None:
        """Work jobs until ``stop()`` or ``stop_and_cancel()`` is called from another
        thread. In the main thread with ``handle_signals``, a first SIGINT or SIGTERM stops
        softly and a second cancels running jobs."""
        _settings_of(self)
        if self._loop is not None:
            raise RiverboatError("client is already running")
        asyncio.run(self._run(handle_signals))

    def stop(self) -> None:
        """Ask ``run()`` to stop softly (running jobs finish); returns at once."""
        self._request_stop(cancel=False)

    def stop_and_cancel(self) -> None:
        """Ask ``run()`` to stop and cancel running jobs; returns at once."""
        self._request_stop(cancel=True)

    def _request_stop(self, *, cancel: bool) -> None:
        loop, requests = self._loop, self._stop_requests
        if loop is not None and requests is not None:
            loop.call_soon_threadsafe(requests.put_nowait, cancel)

    def working_twin(self) -> AsyncClient:
        """An ``AsyncClient`` with this client's settings and a pool of its own to the same
        database: what ``run()`` works with (and ``riverboat work`` given a sync client)."""
        conninfo = self._pool.conninfo
        if not isinstance(conninfo, str):
            raise ValidationError("pool", "type", "must have a conninfo string to work jobs")
        return AsyncClient._from_settings(conninfo, self._settings)

    async def _run(self, handle_signals: bool) -> None:
        async with self.working_twin() as twin:
            twin._sync_client = self
            self._stop_requests = asyncio.Queue()
            self._loop = asyncio.get_running_loop()
            try:
                await serve(twin, self._stop_requests, handle_signals=handle_signals)
            finally:
                self._loop = None
                self._stop_requests = None


def current_client() -> AsyncClient:
    """The client working the current job, from an ``async def`` worker (River's
    ``ClientFromContext``): insert follow-up jobs with it, in the job's transaction
    (``insert_tx``) or not, or complete the job in a transaction (``complete_tx``)."""
    client = current_context().client
    if not isinstance(client, AsyncClient):
        raise RiverboatError("no client is working this job (riverboat.testing runs jobs without one)")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RiverboatError(
            "current_client() is for async def workers; a def worker uses current_sync_client()"
        ) from None
    return client


def current_sync_client() -> Client:
    """The client working the current job, from a ``def`` worker's thread: the ``Client``
    that runs it, or (under an ``AsyncClient``) a ``Client`` with its settings."""
    client = current_context().client
    if not isinstance(client, AsyncClient):
        raise RiverboatError("no client is working this job (riverboat.testing runs jobs without one)")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return client._sync_twin()
    raise RiverboatError("current_sync_client() is for def workers; an async def worker uses current_client()")
