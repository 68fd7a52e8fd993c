"""Per-job logs, kept as River's ``riverlog`` middleware keeps them (spec/02-lifecycle.md#metadata).

While a job runs under ``Middleware``, ``logger()`` is a logger bound to it. What the job logs
through it is stored in the job's metadata under ``river:log``, one entry per attempt,
``{"attempt": 2, "log": "<the attempt's log text>"}``, after the entries of earlier
attempts, so River UI and River Go tooling show a riverboat job's logs as they show a River
Go job's, and the reverse::

    client = AsyncClient(url, queues=..., workers=..., middleware=[riverlog.Middleware()])

    class SendEmailWorker(Worker[SendEmail]):
        async def work(self, job):
            riverlog.logger().info("sending to %s", job.args.to)

As River: an attempt that logs nothing adds no entry; an attempt's text is cut to
``max_size_bytes`` (default 2 MB); when all entries together would pass
``max_total_bytes`` (default 8 MB), the oldest are dropped, the newest always kept. The
entries are written whatever the attempt's outcome. Unlike River, a ``river:log`` value
someone else wrote that is not a JSON array does not stop the new entry: it is replaced
by an array of that entry (with a warning naming the job, never its contents).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any, Final

from riverboat import middleware
from riverboat._rules import validate_count
from riverboat.errors import RiverboatError
from riverboat.job import Job
from riverboat.worker import current_context

METADATA_KEY: Final = "river:log"
#: River's defaults and limit.
MAX_SIZE_BYTES_DEFAULT: Final = 2 * 1024 * 1024
MAX_TOTAL_BYTES_DEFAULT: Final = 8 * 1024 * 1024
MAX_TOTAL_BYTES_LIMIT: Final = 64 * 1024 * 1024
#: What each line of a job's log looks like unless a formatter is given.
LOG_FORMAT_DEFAULT: Final = "%(asctime)s %(levelname)s %(message)s"

logger_of_riverboat = logging.getLogger("riverboat.riverlog")
_current: ContextVar[JobLogger] = ContextVar("riverboat_riverlog")


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The logger of one job attempt: a ``logging.LoggerAdapter`` whose records carry the
    job's ``job_kind``, ``job_id``, ``queue`` and ``attempt`` (merged with a call's own
    ``extra``)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def logger() -> JobLogger:
    """The logger of the job being worked; only inside a job run under ``Middleware``."""
    try:
        return _current.get()
    except LookupError:
        raise RiverboatError(
            "no per-job logger here: add riverboat.contrib.riverlog.Middleware() to the client or the worker, "
            "and call riverlog.logger() while a job is worked"
        ) from None


class Middleware(middleware.Middleware):
    """Work middleware collecting each attempt's log into ``river:log``.

    ``formatter`` formats each record (default ``LOG_FORMAT_DEFAULT``); records below
    ``level`` (default INFO, as River's slog handlers) are not kept. With ``propagate``,
    each record also goes on to the logger ``riverboat.job`` and so to the process's
    handlers (River keeps them in the job only)."""

    def __init__(
        self,
        *,
        formatter: logging.Formatter | None = None,
        level: int = logging.INFO,
        propagate: bool = False,
        max_size_bytes: int = MAX_SIZE_BYTES_DEFAULT,
        max_total_bytes: int = MAX_TOTAL_BYTES_DEFAULT,
    ) -> None:
        self.formatter = formatter if formatter is not None else logging.Formatter(LOG_FORMAT_DEFAULT)
        self.level = level
        self.propagate = propagate
        self.max_size_bytes = validate_count("max_size_bytes", max_size_bytes)
        self.max_total_bytes = validate_count("max_total_bytes", max_total_bytes, high=MAX_TOTAL_BYTES_LIMIT)

    async def work(self, job: Job, call_next: middleware.WorkNext) -> None:
        buffer = io.StringIO()
        token = _current.set(self._logger_for(job, buffer))
        try:
            await call_next()
        finally:
            _current.reset(token)
            self._store(job, buffer.getvalue())

    def _logger_for(self, job: Job, buffer: io.StringIO) -> JobLogger:
        handler = logging.StreamHandler(buffer)
        handler.setFormatter(self.formatter)
        # A logger of its own per attempt, outside logging's registry, so nothing outlives the job.
        base = logging.Logger("riverboat.job", self.level)
        base.addHandler(handler)
        base.propagate = self.propagate
        base.parent = logging.getLogger("riverboat.job")
        return JobLogger(base, _job_fields(job))

    def _store(self, job: Job, text: str) -> None:
        if not text:
            return
        encoded = text.encode("utf-8")
        if len(encoded) > self.max_size_bytes:
            logger_of_riverboat.warning(
                "job %d (%s): its log of attempt %d is %d bytes, cut to %d",
                job.id, job.kind, job.attempt, len(encoded), self.max_size_bytes,
                extra=_job_fields(job),
            )  # fmt: skip
            text = encoded[: self.max_size_bytes].decode("utf-8", errors="ignore")
        existing = job.metadata.get(METADATA_KEY)
        if existing is not None and not isinstance(existing, list):
            logger_of_riverboat.warning(
                "job %d (%s): metadata %r held a value that is not an array; replaced by this attempt's entry",
                job.id, job.kind, METADATA_KEY,
                extra=_job_fields(job),
            )  # fmt: skip
            existing = None
        entries, dropped = append_entry(existing or [], {"attempt": job.attempt, "log": text}, self.max_total_bytes)
        if dropped:
            logger_of_riverboat.warning(
                "job %d (%s): logs of all attempts passed %d bytes; dropped the %d oldest entries",
                job.id, job.kind, self.max_total_bytes, dropped,
                extra=_job_fields(job),
            )  # fmt: skip
        current_context().metadata_updates[METADATA_KEY] = entries


def _job_fields(job: Job) -> dict[str, Any]:
    return {"job_kind": job.kind, "job_id": job.id, "queue": job.queue, "attempt": job.attempt}


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def append_entry(entries: list[Any], entry: dict[str, Any], max_total_bytes: int) -> tuple[list[Any], int]:
    """``entries`` with ``entry`` appended, dropping the oldest while the array's JSON
    would pass ``max_total_bytes`` (``entry`` itself always stays); and how many were dropped."""
    sizes = [_encoded_size(e) for e in entries]
    # Brackets, the new entry, and a comma before it when anything is kept.
    total = 2 + _encoded_size(entry) + sum(sizes) + len(sizes)
    keep_from = 0
    while keep_from < len(entries) and total > max_total_bytes:
        total -= sizes[keep_from] + 1
        keep_from += 1
    return [*entries[keep_from:], entry], keep_from
