"""What is logged about a working client's run, on logger ``riverboat.client`` at INFO, each
fact also an ``extra=`` field: the client logs when it has started (its id, the database
without credentials, the schema, its queues, leader election) and when it has stopped, as
River Go's client does; ``riverboat work`` adds how many jobs ended each way meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riverboat._conninfo import describe
from riverboat._settings import WorkSettings
from riverboat.events import EventKind, Events
from riverboat.worker import QueueConfig

logger = logging.getLogger("riverboat.client")


def _queues(queues: Mapping[str, QueueConfig]) -> dict[str, dict[str, int]]:
    return {name: {"max_workers": config.max_workers} for name, config in sorted(queues.items())}


def log_started(settings: WorkSettings, pool: AsyncConnectionPool[Any], schema: str | None) -> None:
    kwargs = pool.kwargs if isinstance(pool.kwargs, Mapping) else None
    database = describe(pool.conninfo, kwargs) if isinstance(pool.conninfo, str) else "(a connection factory)"
    shown_schema = schema if schema is not None else "(search_path)"
    queues = _queues(settings.queues)
    election = "on" if settings.leader_election else "off"
    logger.info(
        "riverboat client %s started: queues %s; database %s, schema %s; leader election %s",
        settings.client_id,
        ", ".join(f"{name} (max_workers {q['max_workers']})" for name, q in queues.items()),
        database,
        shown_schema,
        election,
        extra={
            "client_id": settings.client_id,
            "database": database,
            "schema": shown_schema,
            "queues": queues,
            "leader_election": settings.leader_election,
        },
    )


def log_stopped(client_id: str) -> None:
    logger.info("riverboat client %s stopped", client_id, extra={"client_id": client_id})


@contextmanager
def outcome_counts(client: object) -> Iterator[None]:
    """While the block runs, count the outcomes ``client`` (if it has ``events``) writes,
    by kind; log the counts when the block returns (not when it raises: a run that failed
    to start worked nothing). Counting subscribes to nothing: with no subscriber the
    completer need not read the rows back."""
    events = getattr(client, "events", None)
    if not isinstance(events, Events):
        yield
        return
    before = events.written()
    yield
    after = events.written()
    counts = {kind: after[kind] - before[kind] for kind in EventKind}
    logger.info(
        "jobs worked during the run: %s",
        ", ".join(f"{n} {kind.value}" for kind, n in counts.items()),
        extra={f"jobs_{kind.value}": n for kind, n in counts.items()},
    )
