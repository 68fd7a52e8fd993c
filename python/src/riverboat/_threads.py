"""The threads that run ``def`` workers.

Not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the interpreter
exits, so one ``work`` that never returns would keep a stopped worker process alive
forever. Here threads are daemons: a job still running when the process exits is left
``running`` in the database, for the rescuer, exactly as if the process had been killed.
Threads are started on demand and kept while idle, so a queue uses at most as many as
it runs jobs at once (``max_workers``, plus any slot a stuck job gave up).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class DaemonThreads:
    """Runs calls on daemon threads named ``<name>-<n>``; ``submit`` never blocks."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on a thread, in a copy of the caller's context."""
        future: Future[T] = Future()
        context = contextvars.copy_context()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name}: threads are closed")
            if self._idle:
                self._idle -= 1
            else:
                self._started += 1
                threading.Thread(target=self._serve, name=f"{self._name}-{self._started}", daemon=True).start()
        self._calls.put((future, context.run, (fn, *args)))
        return future

    def close(self) -> None:
        """Let idle threads end; busy ones end after their call. Submitting is refused."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._calls.put(None)

    def _serve(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            future, fn, args = call
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            del call, future, fn, args
            with self._lock:
                if self._closed:
                    return
                self._idle += 1
