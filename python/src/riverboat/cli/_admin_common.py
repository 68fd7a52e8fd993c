"""Shared pieces of the operator commands (``riverboat jobs``, ``riverboat queues``):
connection options, JSON rendering and plain-text tables."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
import psycopg

from riverboat._conninfo import connect as connect_checked
from riverboat._time import format_time
from riverboat.errors import RiverboatError, ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """``--database-url`` (or ``DATABASE_URL``) and ``--schema``."""
    command = click.option(
        "--schema", default=None, envvar="RIVER_SCHEMA", help="Schema of River's tables (default: search_path)."
    )(command)
    command = click.option(
        "--database-url", envvar="DATABASE_URL", callback=_required_url, help="PostgreSQL URL (or DATABASE_URL)."
    )(command)
    return command


def _required_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    # One line naming both ways to give it, instead of click's usage screen.
    if not value:
        raise RiverboatError("no database URL: give --database-url or set DATABASE_URL")
    return value


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")


@contextmanager
def connect(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection; failures become one clear line, not a traceback."""
    conn = connect_checked(database_url, autocommit=True)
    try:
        with conn:
            yield conn
    except psycopg.Error as exc:
        raise RiverboatError(f"database error: {exc}".strip()) from exc


def parse_json_object(field: str, text: str) -> dict[str, Any]:
    """A command-line option holding a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(field, "json", f"must be JSON text: {exc}", text) from exc
    if not isinstance(value, dict):
        raise ValidationError(field, "type", "must be a JSON object", text)
    return value


def plain(value: Any) -> Any:
    """A JSON-ready form of a row value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, int | float | str | bool):
        return plain(value.value)
    return value


def echo_json(value: Any) -> None:
    click.echo(json.dumps(plain(value), indent=2, sort_keys=True))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        # Tables show UTC to the second; --json gives the protocol's form (spec/02-lifecycle.md#times).
        shown = value.astimezone(UTC) if value.tzinfo is not None else value
        return shown.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    text = str(plain(value))
    return text if len(text) <= 40 else text[:39] + "…"


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def echo_record(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        shown = json.dumps(plain(value), sort_keys=True) if isinstance(value, dict | list) else cell(value)
        click.echo(f"{key.ljust(width)}  {shown}")
