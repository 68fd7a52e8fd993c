from __future__ import annotations

import asyncio
import threading

import pytest

from riverboat._threads import DaemonThreads
from tests.helpers import await_until

CALLS = 50


def _thread_name_once_all_arrive(barrier: threading.Barrier) -> str:
    barrier.wait()
    return threading.current_thread().name


async def test_calls_that_block_each_get_a_thread() -> None:
    """However few threads are awake when calls arrive, calls that block until all of them
    run at once are each given a thread."""
    threads = DaemonThreads("test")
    barrier = threading.Barrier(CALLS, timeout=20)
    try:
        names = await asyncio.gather(*(threads.call(_thread_name_once_all_arrive, barrier) for _ in range(CALLS)))
    finally:
        threads.close()
    assert len(set(names)) == CALLS


async def test_quick_calls_return_their_results_and_errors() -> None:
    threads = DaemonThreads("test")
    try:
        assert await asyncio.gather(*(threads.call(pow, n, 2) for n in range(1000))) == [n * n for n in range(1000)]
        with pytest.raises(ValueError, match="not a number"):
            await threads.call(int, "not a number")
    finally:
        threads.close()


async def test_closed_threads_refuse_calls_and_end() -> None:
    threads = DaemonThreads("closing")
    await asyncio.gather(*(threads.call(pow, n, 2) for n in range(100)))
    threads.close()
    with pytest.raises(RuntimeError, match="closed"):
        threads.call(pow, 2, 2)

    async def all_ended() -> bool:
        return not any(t.name.startswith("closing-") for t in threading.enumerate())

    await await_until(all_ended, what="the closed pool's threads to end")
