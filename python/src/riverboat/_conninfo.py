"""Where a database URL points, said without its credentials; the parameters riverboat adds
to the connections it opens (spec/06-fetch.md#faults); and the one-line error for a
database that cannot be reached (spec/15-errors.md#codes: ``database_unreachable``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import psycopg
from psycopg.conninfo import make_conninfo

from riverboat._defaults import CONNECTION_DEFAULTS
from riverboat.errors import DatabaseConnectionError, ValidationError

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


def missing_defaults(given: Mapping[str, Any]) -> dict[str, str]:
    """Those of ``CONNECTION_DEFAULTS`` that connection parameters ``given`` leave out (a
    connect timeout in ``PGCONNECT_TIMEOUT`` counts as given)."""
    missing = {key: value for key, value in CONNECTION_DEFAULTS.items() if key not in given}
    if "PGCONNECT_TIMEOUT" in os.environ:
        missing.pop("connect_timeout", None)
    return missing


def with_connection_defaults(conninfo: str) -> str:
    """``conninfo`` plus each of ``CONNECTION_DEFAULTS`` it does not set."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ValidationError("conninfo", "format", f"is not a PostgreSQL conninfo or URL: {exc}") from None
    missing = missing_defaults(given)
    return make_conninfo(conninfo, **missing) if missing else conninfo


def connect(conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection for riverboat's own checks and migrations, with ``CONNECTION_DEFAULTS``
    that the URL and ``kwargs`` leave out; ``DatabaseConnectionError`` when it fails."""
    kwargs = {**missing_defaults({**_parsed(conninfo), **kwargs}), **kwargs}
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
