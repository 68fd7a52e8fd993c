"""Waiting on an event with a deadline, without losing a cancellation.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives as the awaited
event fires, leaving a loop running after ``stop()`` cancelled it; ``asyncio.timeout``
does not.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; whether it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
