"""``riverboat work module:attr``: run a configured client until a signal (spec/06-fetch.md#running-a-worker).

``attr`` is a client (anything with async ``start``, ``stop`` and ``stop_and_cancel``) or a
factory returning one, possibly async. The first SIGINT/SIGTERM stops softly (running jobs
finish); a second cancels them.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import signal
import sys
from typing import Any, Protocol

import click

from riverboat.errors import ValidationError


class Workable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def stop_and_cancel(self) -> None: ...


def load_target(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValidationError("target", "must be module:attr", spec)
    sys.path.insert(0, ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValidationError("target", f"module cannot be imported ({exc})", spec) from None
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise ValidationError("target", f"{module_name} has no attribute {attr}", spec)
        value = getattr(value, part)
    return value


async def _resolve(target: Any) -> Workable:
    client = target
    if not hasattr(client, "start") and callable(client):
        client = client()
        if inspect.isawaitable(client):
            client = await client
    for method in ("start", "stop", "stop_and_cancel"):
        if not callable(getattr(client, method, None)):
            raise ValidationError("target", f"must be a client or a factory of one (no {method}())", target)
    return client  # type: ignore[no-any-return]


async def run_until_signalled(target: Any) -> None:
    client = await _resolve(target)
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    signals = 0
    cancelling: list[asyncio.Task[None]] = []

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            click.echo("riverboat: stopping (running jobs finish; signal again to cancel them)", err=True)
            stop_requested.set()
        else:
            click.echo("riverboat: cancelling running jobs", err=True)
            cancelling.append(loop.create_task(client.stop_and_cancel()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    await client.start()
    click.echo("riverboat: working", err=True)
    await stop_requested.wait()
    await client.stop()
    for task in cancelling:
        await task


@click.command("work")
@click.argument("target")
def work(target: str) -> None:
    """Work jobs with the client at TARGET (module:attr, a client or a factory of one)."""
    asyncio.run(run_until_signalled(load_target(target)))
