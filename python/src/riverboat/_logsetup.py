"""Logging of a process that ``riverboat work`` runs (python/README.md#seeing-it-run): one handler
on the root logger, writing to stderr as text or as one JSON object per line.

Only the command calls this: the library itself adds no handler anywhere, so an
application that hosts a client keeps its own logging configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

import click

from riverboat._time import format_time

LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Every attribute a LogRecord has of its own; any other one came from ``extra=``.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call added with ``extra=`` (job_kind, job_id, queue, attempt, ...)."""
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (RFC 3339, UTC), ``level``, ``logger``,
    ``message``, then every ``extra=`` field, then ``exception`` and ``stack`` when present.
    A value JSON cannot hold is written as its ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": format_time(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _ProcessHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs, told apart from any other."""


def configure_logging(level: str, log_format: str, worker_process: str | None = None) -> None:
    """Send every record at ``level`` or above to stderr in ``log_format`` (``text`` or
    ``json``), replacing a handler an earlier call installed. ``worker_process`` (``k/N``,
    a process of ``riverboat work --processes``) is added to every record as a field."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ProcessHandler)]:
        root.removeHandler(old)
    handler = _ProcessHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    if worker_process is not None:
        handler.addFilter(_WorkerProcess(worker_process))
    root.addHandler(handler)
    root.setLevel(level.upper())


class _WorkerProcess(logging.Filter):
    def __init__(self, label: str) -> None:
        super().__init__()
        self._label = label

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker_process = self._label
        return True


def report_fatal(message: str) -> None:
    """The command's last word before it exits with an error: a plain ``riverboat: ...``
    line, or, when the process logs JSON, one more JSON object, so that every line of
    stderr parses."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _ProcessHandler) and isinstance(handler.formatter, JsonFormatter):
            fields = {"name": "riverboat", "msg": message, "levelno": logging.ERROR, "levelname": "ERROR"}
            handler.handle(logging.makeLogRecord(fields))
            return
    click.echo(f"riverboat: {message}", err=True)
