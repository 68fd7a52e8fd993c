"""Job timeouts by time slot (riverboat._deadlines)."""

from __future__ import annotations

import asyncio

from riverboat._deadlines import SLOT_SECONDS, Deadlines
from tests.helpers import await_until


class Job:
    def __init__(self) -> None:
        self.timed_out_at: float | None = None

    def time_out(self, _key: object = None) -> None:
        self.timed_out_at = asyncio.get_running_loop().time()


async def test_jobs_time_out_after_their_deadline_unless_removed() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    late, finished, later = Job(), Job(), Job()
    start = loop.time()
    deadlines.add(late, 0.05, Job.time_out)
    deadlines.remove(finished, deadlines.add(finished, 0.05, Job.time_out))
    deadlines.add(later, 0.2, Job.time_out)

    async def later_timed_out() -> bool:
        return later.timed_out_at is not None

    await await_until(later_timed_out, timeout=5, what="the later job timed out")
    assert late.timed_out_at is not None
    assert later.timed_out_at is not None
    assert late.timed_out_at >= start + 0.05
    assert later.timed_out_at >= start + 0.2
    assert late.timed_out_at < later.timed_out_at
    assert finished.timed_out_at is None


async def test_jobs_due_in_one_slot_share_it() -> None:
    deadlines = Deadlines()
    jobs = [Job() for _ in range(100)]
    slots = {deadlines.add(job, 0.05, Job.time_out) for job in jobs}
    # Added in one tight loop, their deadlines span at most a slot boundary: two timers, not 100.
    assert len(slots) <= 2

    async def all_timed_out() -> bool:
        return all(job.timed_out_at is not None for job in jobs)

    await await_until(all_timed_out, timeout=5, what="all timed out")
    assert all(job.timed_out_at is not None and job.timed_out_at >= min(slots) * SLOT_SECONDS for job in jobs)
