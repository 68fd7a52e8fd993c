"""A client's configuration, validated in one place when the client is created, so a
misconfigured client fails at construction (with the field and the rule) rather than at
``start``, and nothing downstream checks a setting again. River validates its whole
``Config`` once in the same way; the rules that span fields are River's."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from riverboat._db import DatabaseTimeouts
from riverboat._defaults import (
    JOB_STUCK_THRESHOLD_DEFAULT,
    JOB_TIMEOUT_DEFAULT,
    MAX_ATTEMPTS_DEFAULT,
    PRIORITY_DEFAULT,
    QUEUE_DEFAULT,
    RESCUE_STUCK_JOBS_AFTER_DEFAULT,
    Retention,
)
from riverboat._identifiers import validate_schema_name
from riverboat._insert import ClientDefaults
from riverboat._processes import client_id_of_this_process
from riverboat._retry import DefaultRetryPolicy, RetryPolicy
from riverboat._rules import (
    validate_bool,
    validate_client_id,
    validate_duration,
    validate_queue_name,
    validate_retention,
)
from riverboat.contract import Contract
from riverboat.errors import ValidationError
from riverboat.events import Events
from riverboat.middleware import ErrorHandler, Hook, Middleware
from riverboat.periodic import PeriodicJob, validate_periodic_jobs
from riverboat.worker import JobStuckHandler, QueueConfig, Workers, validate_plugins

HOSTNAME_MAX_LENGTH = 60


def default_client_id(host: str, now: datetime) -> str:
    """River's default: host name (dots to underscores, at most 60 characters), "_", and the
    UTC start time as 2006_01_02T15_04_05_000000."""
    return host.replace(".", "_")[:HOSTNAME_MAX_LENGTH] + "_" + now.astimezone(UTC).strftime("%Y_%m_%dT%H_%M_%S_%f")


@dataclass(frozen=True)
class WorkSettings:
    """Everything a working client is configured with, validated."""

    queues: Mapping[str, QueueConfig]
    workers: Workers
    client_id: str
    retry_policy: RetryPolicy
    #: Negative: no timeout.
    job_timeout: timedelta
    soft_stop_timeout: timedelta | None
    poll_only: bool
    leader_election: bool
    periodic_jobs: tuple[PeriodicJob, ...]
    rescue_stuck_jobs_after: timedelta
    completed_job_retention: Retention
    cancelled_job_retention: Retention
    discarded_job_retention: Retention
    error_handler: ErrorHandler | None
    job_stuck_threshold: timedelta
    job_stuck_handler: JobStuckHandler | None
    events: Events
    database_timeouts: DatabaseTimeouts


@dataclass(frozen=True)
class ClientSettings:
    """A client's validated configuration; the sync client hands it to an async twin to work."""

    schema: str | None
    defaults: ClientDefaults
    contract: Contract | None
    #: Around inserts, and (for a working client) around work, before a worker's own.
    middleware: tuple[Middleware, ...]
    hooks: tuple[Hook, ...]
    database_timeouts: DatabaseTimeouts
    work: WorkSettings | None


def validate_database_timeouts(timeouts: DatabaseTimeouts | None) -> DatabaseTimeouts:
    """``timeouts`` (``None``: the defaults), each a positive duration."""
    if timeouts is None:
        return DatabaseTimeouts()
    if not isinstance(timeouts, DatabaseTimeouts):
        raise ValidationError("database_timeouts", "type", "must be a riverboat.DatabaseTimeouts", timeouts)
    for field in fields(timeouts):
        validate_duration(f"database_timeouts.{field.name}", getattr(timeouts, field.name))
    return timeouts


def client_settings(
    *,
    schema: str | None = None,
    queue: str = QUEUE_DEFAULT,
    max_attempts: int = MAX_ATTEMPTS_DEFAULT,
    priority: int = PRIORITY_DEFAULT,
    contract: Contract | None = None,
    middleware: Sequence[Middleware] = (),
    hooks: Sequence[Hook] = (),
    database_timeouts: DatabaseTimeouts | None = None,
    **work: Any,
) -> ClientSettings:
    """Validate a client's whole configuration; ``work`` holds the working client's settings
    (the keyword arguments of ``work_settings``)."""
    if contract is not None and not isinstance(contract, Contract):
        raise ValidationError("contract", "type", "must be a riverboat.Contract", contract)
    timeouts = validate_database_timeouts(database_timeouts)
    return ClientSettings(
        schema=None if schema is None else validate_schema_name(schema),
        defaults=ClientDefaults(queue=queue, priority=priority, max_attempts=max_attempts),
        contract=contract,
        middleware=validate_plugins("middleware", middleware, Middleware),
        hooks=validate_plugins("hooks", hooks, Hook),
        database_timeouts=timeouts,
        work=work_settings(**work, database_timeouts=timeouts),
    )


def work_settings(
    *,
    queues: Mapping[str, QueueConfig] | None,
    workers: Workers | None,
    client_id: str | None,
    retry_policy: RetryPolicy | None,
    job_timeout: timedelta | None,
    soft_stop_timeout: timedelta | None,
    poll_only: bool,
    leader_election: bool,
    periodic_jobs: Sequence[PeriodicJob],
    rescue_stuck_jobs_after: timedelta | None,
    completed_job_retention: Retention,
    cancelled_job_retention: Retention,
    discarded_job_retention: Retention,
    error_handler: ErrorHandler | None = None,
    job_stuck_threshold: timedelta = JOB_STUCK_THRESHOLD_DEFAULT,
    job_stuck_handler: JobStuckHandler | None = None,
    database_timeouts: DatabaseTimeouts | None = None,
) -> WorkSettings | None:
    """The settings of a working client, or ``None`` for an insert-only one (no queues and
    no workers). Every value is checked, whether or not the client works: a bad setting is
    a bad setting."""
    validate_bool("poll_only", poll_only)
    validate_bool("leader_election", leader_election)
    if job_timeout is not None and (not isinstance(job_timeout, timedelta) or job_timeout == timedelta(0)):
        raise ValidationError(
            "job_timeout", "range", "must be a non-zero timedelta (negative: no timeout)", job_timeout
        )
    if soft_stop_timeout is not None:
        validate_duration("soft_stop_timeout", soft_stop_timeout, inclusive=True)
    if rescue_stuck_jobs_after is None:
        # River's default: an hour, counted after the job timeout when one is configured.
        given = job_timeout if job_timeout is not None and job_timeout > timedelta(0) else timedelta(0)
        rescue_stuck_jobs_after = given + RESCUE_STUCK_JOBS_AFTER_DEFAULT
    validate_duration("rescue_stuck_jobs_after", rescue_stuck_jobs_after)
    job_timeout = JOB_TIMEOUT_DEFAULT if job_timeout is None else job_timeout
    if rescue_stuck_jobs_after < job_timeout:
        # River's rule: a job still within its timeout must never look stuck.
        raise ValidationError(
            "rescue_stuck_jobs_after", "conflict", f"must not be shorter than job_timeout ({job_timeout})",
            rescue_stuck_jobs_after,
        )  # fmt: skip
    validate_retention("completed_job_retention", completed_job_retention)
    validate_retention("cancelled_job_retention", cancelled_job_retention)
    validate_retention("discarded_job_retention", discarded_job_retention)
    if error_handler is not None and not isinstance(error_handler, ErrorHandler):
        raise ValidationError("error_handler", "type", "must be a riverboat.ErrorHandler", error_handler)
    validate_duration("job_stuck_threshold", job_stuck_threshold, inclusive=True)
    if job_stuck_handler is not None and not callable(job_stuck_handler):
        raise ValidationError("job_stuck_handler", "type", "must be callable", job_stuck_handler)
    if retry_policy is not None and not callable(getattr(retry_policy, "next_retry", None)):
        raise ValidationError("retry_policy", "type", "must have a next_retry(job, now) method", retry_policy)
    chosen_id = default_client_id(socket.gethostname(), datetime.now(UTC)) if client_id is None else client_id
    validate_client_id(chosen_id)
    validated_periodic = tuple(validate_periodic_jobs(list(periodic_jobs), takes_part_in_election=leader_election))
    if not queues and workers is None:
        if validated_periodic:
            raise ValidationError(
                "periodic_jobs", "conflict", "need a working client (queues and workers)", len(validated_periodic)
            )
        return None
    if not queues:
        raise ValidationError("queues", "required", "must name at least one queue when workers are given", queues)
    if not isinstance(workers, Workers):
        raise ValidationError("workers", "type", "must be a riverboat.Workers when queues are given", workers)
    for name, config in queues.items():
        validate_queue_name(name, field="queues")
        if not isinstance(config, QueueConfig):
            raise ValidationError(f"queues[{name!r}]", "type", "must be a riverboat.QueueConfig", config)
    return WorkSettings(
        queues=dict(queues),
        workers=workers,
        client_id=client_id_of_this_process(chosen_id),
        retry_policy=retry_policy or DefaultRetryPolicy(),
        job_timeout=job_timeout,
        soft_stop_timeout=soft_stop_timeout,
        poll_only=poll_only,
        leader_election=leader_election,
        periodic_jobs=validated_periodic,
        rescue_stuck_jobs_after=rescue_stuck_jobs_after,
        completed_job_retention=completed_job_retention,
        cancelled_job_retention=cancelled_job_retention,
        discarded_job_retention=discarded_job_retention,
        error_handler=error_handler,
        job_stuck_threshold=job_stuck_threshold,
        job_stuck_handler=job_stuck_handler,
        events=Events(),
        database_timeouts=validate_database_timeouts(database_timeouts),
    )
