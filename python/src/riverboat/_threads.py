"""The threads that run ``def`` workers.

Not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the interpreter
exits, so one ``work`` that never returns would keep a stopped worker process alive
forever. Here threads are daemons: a job still running when the process exits is left
``running`` in the database, for the rescuer, exactly as if the process had been killed.
Threads are started on demand and kept while idle, so a queue uses at most as many as
it runs jobs at once (``max_workers``, plus any slot a stuck job gave up).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]
_Done = tuple[asyncio.Future[Any], Any, BaseException | None]


class DaemonThreads:
    """Runs calls on daemon threads named ``<name>-<n>`` for one event loop; ``call`` never
    blocks.

    Threads are woken the way Go wakes its scheduler's threads: a call wakes a sleeping
    thread only when no thread is awake and looking for work, and a thread that takes a
    call while others wait wakes one more. Calls that return quickly are then run by a few
    busy threads, not handed one by one to as many sleeping ones (each wake-up and each
    switch of the GIL costs more than a no-op job); calls that block still each get a
    thread, woken one after the other as each takes its call.

    Results reach the loop in batches: a thread that finishes while an earlier result is
    still waiting to be handed over wakes the loop no second time."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: collections.deque[_Call] = collections.deque()
        self._done: collections.deque[_Done] = collections.deque()
        self._handover_due = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._wake = threading.Semaphore(0)
        #: Threads asleep (waiting on ``_wake``) and those awake without a call.
        self._sleeping = 0
        self._searching = 0
        self._started = 0
        self._closed = False

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run ``fn(*args)`` on a thread, in a copy of the caller's context; await the result
        on the event loop that called this. Cancelling the future does not stop the thread."""
        loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name}: threads are closed")
            self._calls.append((future, context.run, (fn, *args)))
            if self._searching == 0:
                self._wake_one()
        return future

    def _wake_one(self) -> None:
        """With the lock held: get one more thread looking for work."""
        self._searching += 1
        if self._sleeping:
            self._sleeping -= 1
            self._wake.release()
        else:
            self._started += 1
            threading.Thread(target=self._serve, name=f"{self._name}-{self._started}", daemon=True).start()

    def _finished(self, done: _Done) -> None:
        # Under the GIL: an item appended while a hand-over is due is seen by that hand-over,
        # which clears the flag before it drains.
        self._done.append(done)
        if not self._handover_due and self._loop is not None:
            self._handover_due = True
            # A closed loop raises: nobody waits for the result any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        self._handover_due = False
        done = self._done
        while done:
            future, result, error = done.popleft()
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def close(self) -> None:
        """Let idle threads end; busy ones end after their call. Submitting is refused."""
        with self._lock:
            self._closed = True
            sleeping, self._sleeping = self._sleeping, 0
        for _ in range(sleeping):
            self._wake.release()

    def _take(self) -> _Call | None:
        """The next call for this (searching) thread, or ``None`` once closed. Sleeps while
        there is none."""
        while True:
            with self._lock:
                if self._calls:
                    call = self._calls.popleft()
                    self._searching -= 1
                    if self._calls and self._searching == 0:
                        self._wake_one()
                    return call
                if self._closed:
                    self._searching -= 1
                    return None
                self._searching -= 1
                self._sleeping += 1
            self._wake.acquire()
            with self._lock:
                if self._closed and not self._calls:
                    return None

    def _serve(self) -> None:
        while (call := self._take()) is not None:
            future, fn, args = call
            try:
                self._finished((future, fn(*args), None))
            except BaseException as exc:
                self._finished((future, None, exc))
            del call, future, fn, args
            with self._lock:
                self._searching += 1
