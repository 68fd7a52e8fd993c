"""Periodic jobs: jobs the leader inserts on a schedule (spec/11-maintenance.md#periodic-jobs).

A schedule is a cron expression in River Go's standard syntax (see ``riverboat._cron``),
a ``timedelta`` interval, or any object with ``next(after) -> datetime | None``. The
constructor builds ``(args, opts)`` for each run, or returns ``None`` to skip that run.
Only the elected leader inserts periodic jobs; runs missed while no client led are not
backfilled. Invalid schedules fail here, when the job is declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from riverboat._cron import Schedule, to_schedule
from riverboat.errors import ValidationError

PeriodicConstructor = Callable[[], "tuple[Any, Any] | None"]

# Metadata keys River Go writes on periodic jobs.
METADATA_PERIODIC = "periodic"
METADATA_PERIODIC_JOB_ID = "river:periodic_job_id"


@dataclass(frozen=True)
class PeriodicJob:
    """A job inserted by the leader each time ``schedule`` comes round.

    ``run_on_start`` also inserts it as soon as a client becomes leader. ``id`` (optional,
    unique among a client's periodic jobs) is written to ``metadata["river:periodic_job_id"]``.
    """

    schedule: str | timedelta | Schedule
    constructor: PeriodicConstructor
    run_on_start: bool = False
    id: str | None = None
    parsed_schedule: Schedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed_schedule", to_schedule(self.schedule))
        if not callable(self.constructor):
            raise ValidationError("constructor", "type", "must be callable", self.constructor)
        if self.id is not None and (not isinstance(self.id, str) or not self.id):
            raise ValidationError("id", "type", "must be a non-empty string or None", self.id)

    def metadata(self) -> dict[str, Any]:
        """The metadata River Go puts on a job inserted for this periodic job."""
        extra: dict[str, Any] = {METADATA_PERIODIC: True}
        if self.id is not None:
            extra[METADATA_PERIODIC_JOB_ID] = self.id
        return extra


@dataclass(frozen=True)
class PeriodicInsert:
    """One job to insert: what the constructor built, the metadata to merge into its
    options, and the run time to use as ``scheduled_at`` unless the options set one (as
    River Go does, so the job is inserted ``scheduled`` and the job scheduler releases it)."""

    args: Any
    opts: Any
    metadata: dict[str, Any]
    scheduled_at: datetime


def validate_periodic_jobs(jobs: list[PeriodicJob], *, takes_part_in_election: bool) -> list[PeriodicJob]:
    """Refuse periodic jobs on a client kept out of election (it never leads) and duplicate IDs."""
    if jobs and not takes_part_in_election:
        raise ValidationError(
            "periodic_jobs", "conflict", "need a client that takes part in leader election", len(jobs)
        )
    seen: set[str] = set()
    for job in jobs:
        if not isinstance(job, PeriodicJob):
            raise ValidationError("periodic_jobs", "type", "must contain PeriodicJob values", job)
        if job.id is not None:
            if job.id in seen:
                raise ValidationError("periodic_jobs", "duplicate", "IDs must be unique", job.id)
            seen.add(job.id)
    return jobs
