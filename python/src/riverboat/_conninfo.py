"""Where a database URL points, said without its credentials, and the one-line error for a
database that cannot be reached (spec/15-errors.md#codes: ``database_unreachable``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import psycopg

from riverboat.errors import DatabaseConnectionError

#: Seconds to wait for a connection when riverboat opens one to check or migrate a
#: database: long enough for a slow network, short enough that a wrong host fails at once.
CONNECT_TIMEOUT_SECONDS: Final = 5

_WHERE_KEYS: Final = ("host", "port", "dbname")


def describe(conninfo: str, overrides: Mapping[str, Any] | None = None) -> str:
    """``host:port/dbname`` of ``conninfo`` (``overrides``: connection keyword arguments
    that take precedence, as psycopg applies them). Never the user or password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "(unparseable database URL)"
    info.update({key: overrides[key] for key in _WHERE_KEYS if overrides and key in overrides})
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (libpq adds hints on further lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection for riverboat's own checks and migrations, with a short connect timeout
    unless the URL or ``kwargs`` set one; ``DatabaseConnectionError`` when it fails."""
    if "connect_timeout" not in kwargs and "connect_timeout" not in _parsed(conninfo):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        return psycopg.connect(conninfo, **kwargs)
    except psycopg.Error as exc:
        where = describe(conninfo, kwargs)
        raise DatabaseConnectionError(f"cannot connect to the database at {where}: {first_line(exc)}") from None


def _parsed(conninfo: str) -> dict[str, Any]:
    try:
        return psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return {}
