"""What a working client checks as it starts (spec/06-fetch.md#running-a-worker): that the
database answers, and that it holds River's tables at the version this riverboat needs.
Each failure is one clear error within seconds, not a pool timeout minutes later or a
missing-table error from the first fetch."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riverboat._conninfo import connect, describe
from riverboat.errors import SchemaNotMigratedError
from riverboat.migrate import MAIN_LINE, Migrator


async def check_database(pool: AsyncConnectionPool[Any], schema: str | None) -> None:
    """Raise ``DatabaseConnectionError`` if the pool's database cannot be reached, and
    ``SchemaNotMigratedError`` if a main-line version this riverboat knows is not applied."""
    conninfo = pool.conninfo
    if not isinstance(conninfo, str):
        return  # Working refuses such a pool with an error of its own.
    await asyncio.to_thread(_check, conninfo, await _connection_kwargs(pool), schema)


async def _connection_kwargs(pool: AsyncConnectionPool[Any]) -> Mapping[str, Any]:
    given = pool.kwargs
    if not callable(given):
        return given or {}
    # Computed per connection (a rotating password, say): computed once more here.
    computed = given()
    return await computed if inspect.isawaitable(computed) else computed


def _check(conninfo: str, kwargs: Mapping[str, Any], schema: str | None) -> None:
    # One short-lived connection of its own, opened the way the pool would open one.
    with connect(conninfo, **{**kwargs, "autocommit": True}) as conn:
        missing = Migrator(conn, schema).unapplied(MAIN_LINE)
    if missing:
        raise SchemaNotMigratedError(describe(conninfo, kwargs), missing)
