"""``riverboat work module:attr``: run a configured client until a signal (spec/06-fetch.md#running-a-worker).

``attr`` is a client (an ``AsyncClient``, a ``Client``, or anything with async ``start``,
``stop`` and ``stop_and_cancel``) or a factory returning one, possibly async. The first
SIGINT/SIGTERM stops softly (running jobs finish); a second cancels them.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from typing import Any

import click

from riverboat._logsetup import LOG_FORMATS, LOG_LEVELS, configure_logging
from riverboat._processes import claim_process_slot, process_count, supervise
from riverboat._run_log import outcome_counts
from riverboat._working import Workable, freeze_startup_objects, serve
from riverboat.cli._target import load_target
from riverboat.client import Client
from riverboat.errors import ValidationError


async def _resolve(target: Any) -> Workable:
    client = target
    if not hasattr(client, "start") and callable(client):
        client = client()
        if inspect.isawaitable(client):
            client = await client
    if isinstance(client, Client):
        client = client.working_twin()
    for method in ("start", "stop", "stop_and_cancel"):
        if not callable(getattr(client, method, None)):
            raise ValidationError("target", "type", f"must be a client or a factory of one (no {method}())", target)
    return client  # type: ignore[no-any-return]


async def run_until_signalled(target: Any) -> None:
    client = await _resolve(target)
    with outcome_counts(client):
        await serve(client, asyncio.Queue(), handle_signals=True)
    close = getattr(client, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result


@click.command("work")
@click.argument("target")
@click.option(
    "--processes",
    default="1",
    show_default=True,
    metavar="N|auto",
    callback=lambda _ctx, _param, value: process_count(value),
    help="Worker processes of the client (auto: one per CPU core), each with its own client id "
    "(_p1, _p2, ...) and its own pool; a crashed one is restarted, signals reach them all. Jobs worked "
    "at once: N x each queue's max_workers. Connections: N x (pool size + 1 listener), 11 per process "
    "with the client's own pool: keep it under the database's max_connections.",
)
@click.option(
    "--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="info", show_default=True,
    help="Log records at this level and above.",
)
@click.option(
    "--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
    help="text, or json: one object per line with the record's fields.",
)  # fmt: skip
def work(target: str, processes: int, log_level: str, log_format: str) -> None:
    """Work jobs with the client at TARGET (module:attr, a client or a factory of one)."""
    slot = None if processes > 1 else claim_process_slot()
    configure_logging(log_level, log_format, None if slot is None else slot.label)
    if processes > 1:
        sys.exit(supervise(processes, prefix_lines=log_format == "text"))
    loaded = load_target(target)
    freeze_startup_objects()
    asyncio.run(run_until_signalled(loaded))
