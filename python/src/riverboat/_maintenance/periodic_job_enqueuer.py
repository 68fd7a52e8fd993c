"""Periodic job enqueuer: inserts periodic jobs when their schedule comes round, on the
leader only (spec/11-maintenance.md#periodic-jobs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from riverboat._maintenance import Clock, utcnow
from riverboat._service import IntervalService, logger
from riverboat.periodic import PeriodicInsert, PeriodicJob

# A run due this soon is inserted now rather than after another sleep (River's margin).
DUE_MARGIN = timedelta(milliseconds=100)
# Upper bound on one sleep, so a changed clock or a far-off schedule is re-checked.
MAX_SLEEP = timedelta(minutes=1)


InsertMany = Callable[[Sequence[PeriodicInsert]], Awaitable[object]]
"""Inserts through the client's normal insert path (validation, unique keys, notify)."""


@dataclass(frozen=True)
class PeriodicEnqueuerResult:
    inserted: int
    next_run_at: datetime | None


class PeriodicJobEnqueuer(IntervalService[PeriodicEnqueuerResult]):
    """Keeps each periodic job's next run; ``run_once`` inserts every job that is due and
    moves it to its next run after the planned one. A new leadership term (``reset``, done
    on stop) starts from now, so runs missed without a leader are not backfilled."""

    name = "riverboat-periodic-job-enqueuer"

    def __init__(
        self,
        *,
        jobs: Sequence[PeriodicJob],
        insert_many: InsertMany,
        clock: Clock = utcnow,
        stagger: bool = True,
    ) -> None:
        super().__init__(stagger=stagger)
        self._jobs = list(jobs)
        self._insert_many = insert_many
        self._clock = clock
        self._next_run: dict[int, datetime | None] = {}

    @property
    def interval(self) -> timedelta:
        upcoming = [t for t in self._next_run.values() if t is not None]
        if not upcoming:
            return MAX_SLEEP
        return max(timedelta(0), min(min(upcoming) - self._clock(), MAX_SLEEP))

    def reset(self) -> None:
        """Forget next runs, so the next round behaves like a fresh start (new leadership term)."""
        self._next_run.clear()

    async def run_once(self) -> PeriodicEnqueuerResult:
        now = self._clock()
        due: list[PeriodicInsert] = []
        for index, job in enumerate(self._jobs):
            if index not in self._next_run:
                # First round of a leadership term: runs missed before it are not backfilled.
                self._next_run[index] = job.parsed_schedule.next(now)
                if job.run_on_start:
                    due.extend(self._build(job, now))
                continue
            next_run = self._next_run[index]
            if next_run is None or next_run >= now + DUE_MARGIN:
                continue
            due.extend(self._build(job, next_run))
            # From the planned time, not now, so the schedule does not drift.
            self._next_run[index] = job.parsed_schedule.next(next_run)
        if due:
            await self._insert_many(due)
        upcoming = [t for t in self._next_run.values() if t is not None]
        return PeriodicEnqueuerResult(len(due), min(upcoming) if upcoming else None)

    def _build(self, job: PeriodicJob, run_at: datetime) -> list[PeriodicInsert]:
        try:
            built = job.constructor()
        except Exception:
            logger.exception("%s: constructor of periodic job %s failed", self.name, job.id or job.schedule)
            return []
        if built is None:
            return []
        args, opts = built
        return [PeriodicInsert(args, opts, job.metadata(), run_at)]

    async def _after_stop(self) -> None:
        self.reset()
