"""A client's configuration, validated when the client is created, so a misconfigured
client fails at construction rather than at ``start``."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from riverboat._insert import ClientDefaults
from riverboat._maintenance.job_cleaner import JobCleanerConfig, Retention
from riverboat._maintenance.job_rescuer import JobRescuerConfig
from riverboat._retry import DefaultRetryPolicy, RetryPolicy
from riverboat._runtime import default_client_id, validate_queues
from riverboat.contract import Contract
from riverboat.errors import ValidationError
from riverboat.events import Events
from riverboat.periodic import PeriodicJob, validate_periodic_jobs
from riverboat.worker import QueueConfig, Workers


@dataclass(frozen=True)
class WorkSettings:
    """Everything a working client is configured with, validated."""

    queues: Mapping[str, QueueConfig]
    workers: Workers
    client_id: str
    retry_policy: RetryPolicy
    job_timeout: timedelta
    soft_stop_timeout: timedelta | None
    poll_only: bool
    leader_election: bool
    periodic_jobs: tuple[PeriodicJob, ...]
    rescuer: JobRescuerConfig
    cleaner: JobCleanerConfig
    events: Events


def work_settings(
    *,
    queues: Mapping[str, QueueConfig] | None,
    workers: Workers | None,
    client_id: str | None,
    retry_policy: RetryPolicy | None,
    job_timeout: timedelta,
    soft_stop_timeout: timedelta | None,
    poll_only: bool,
    leader_election: bool,
    periodic_jobs: Sequence[PeriodicJob],
    rescue_stuck_jobs_after: timedelta,
    completed_job_retention: Retention,
    cancelled_job_retention: Retention,
    discarded_job_retention: Retention,
) -> WorkSettings | None:
    """The settings of a working client, or ``None`` for an insert-only one (no queues
    and no workers). Queues and workers come together, as in River."""
    if not queues and workers is None:
        if periodic_jobs:
            raise ValidationError("periodic_jobs", "need a working client (queues and workers)", len(periodic_jobs))
        return None
    if not queues:
        raise ValidationError("queues", "must name at least one queue when workers are given", queues)
    if not isinstance(workers, Workers):
        raise ValidationError("workers", "must be a riverboat.Workers when queues are given", workers)
    validate_queues(queues)
    if not isinstance(leader_election, bool):
        raise ValidationError("leader_election", "must be a boolean", leader_election)
    return WorkSettings(
        queues=dict(queues),
        workers=workers,
        client_id=client_id if client_id is not None else default_client_id(socket.gethostname(), datetime.now(UTC)),
        retry_policy=retry_policy or DefaultRetryPolicy(),
        job_timeout=job_timeout,
        soft_stop_timeout=soft_stop_timeout,
        poll_only=bool(poll_only),
        leader_election=leader_election,
        periodic_jobs=tuple(validate_periodic_jobs(list(periodic_jobs), takes_part_in_election=leader_election)),
        rescuer=JobRescuerConfig(rescue_stuck_jobs_after=rescue_stuck_jobs_after),
        cleaner=JobCleanerConfig(
            completed_job_retention=completed_job_retention,
            cancelled_job_retention=cancelled_job_retention,
            discarded_job_retention=discarded_job_retention,
        ),
        events=Events(),
    )


@dataclass(frozen=True)
class ClientSettings:
    """A client's validated configuration; the sync client hands it to an async twin to work."""

    schema: str | None
    defaults: ClientDefaults
    contract: Contract | None
    work: WorkSettings | None
