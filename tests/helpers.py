"""Helpers for tests: waiting on conditions with deadlines, connection URLs."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


def url_of(conn: psycopg.Connection[Any]) -> str:
    info = conn.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def wait_until(condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.01, what: str = "") -> T:
    """Poll ``condition`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


async def await_until(
    condition: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.01, what: str = ""
) -> T:
    """Async twin of ``wait_until``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


GO_HELPERS = Path(__file__).resolve().parent / "go"
_GO_BUILD_DIR = Path(tempfile.gettempdir()) / "riverboat-test-go-bin"


@functools.cache
def go_binary(command: str, package: str | None = None) -> Path:
    """Build ``tests/go/cmd/<command>`` (River Go from the module proxy), or a command
    ``package`` that tests/go/go.mod requires as a tool, once per session."""
    _GO_BUILD_DIR.mkdir(exist_ok=True)
    out = _GO_BUILD_DIR / command
    subprocess.run(["go", "build", "-o", str(out), package or f"./cmd/{command}"], cwd=GO_HELPERS, check=True)
    return out
