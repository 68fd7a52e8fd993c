"""Resumable steps (spec/07-complete.md#resumable): what ``riverboat.resumable()`` opens,
with ``async with`` here and with ``with`` in the generated sync twin (``_sync/resumable.py``).
"""

from __future__ import annotations

from functools import partial
from types import TracebackType
from typing import Any

from psycopg import AsyncConnection

from riverboat._async import admin
from riverboat._resumable import AsyncCursorStepFunction, AsyncStepFunction, open_attempt
from riverboat._states import JobState
from riverboat.errors import JobNotRunningError, ValidationError
from riverboat.job import Job
from riverboat.worker import current_context


class AsyncResumableSteps:
    """The steps of one job attempt. ``step`` runs a named step unless an earlier attempt
    completed it; ``step_cursor`` also hands the step the cursor an interrupted attempt
    saved. Steps run in order, each name once, never nested. When the attempt ends in an
    error, snooze or cancel, the last completed step and the cursors are saved in the
    job's metadata (where River Go keeps them) for the next attempt."""

    def __init__(self) -> None:
        self._context = current_context()
        self._state = open_attempt(self._context)

    async def __aenter__(self) -> AsyncResumableSteps:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        state = self._state
        error = exc or state.failure or state.exit_error()
        if error is not None:
            # The attempt ends in an error, snooze or cancel: keep its progress. (A job
            # whose code returns completes, even when told to stop: River writes nothing.)
            self._context.metadata_updates.update(state.progress())
        if exc is None and error is not None:
            raise error

    async def step(self, name: str, function: AsyncStepFunction) -> None:
        """Run ``await function()`` as step ``name``, unless an earlier attempt completed it
        or an earlier step of this attempt failed."""
        if self._begin(name, cursor_step=False):
            await self._run(name, function)

    async def step_cursor(self, name: str, function: AsyncCursorStepFunction) -> None:
        """Run ``await function(cursor)`` as step ``name``, with the cursor an earlier attempt
        saved for it (``None`` at first). Inside, ``set_cursor`` records progress."""
        if self._begin(name, cursor_step=True):
            await self._run(name, partial(function, self._state.cursor(name)))

    def set_cursor(self, cursor: Any) -> None:
        """Record the running cursor step's progress (any JSON value, or a dataclass);
        saved if the attempt ends in an error, snooze or cancel."""
        self._state.set_cursor(cursor)

    async def set_step_tx(self, conn: AsyncConnection[Any]) -> Job:
        """Save the running step as completed now, in the caller's transaction on ``conn``:
        durable once it commits, undone if it rolls back. Returns the job's row."""
        return await self._checkpoint(conn, None, with_cursor=False)

    async def set_step_cursor_tx(self, conn: AsyncConnection[Any], cursor: Any) -> Job:
        """Save the running cursor step and ``cursor`` now, in the caller's transaction on
        ``conn``; the next attempt resumes this step from ``cursor``. Returns the job's row."""
        return await self._checkpoint(conn, cursor, with_cursor=True)

    def _begin(self, name: str, *, cursor_step: bool) -> bool:
        state = self._state
        if state.failure is not None:
            return False
        try:
            return state.begin(name, cursor_step=cursor_step)
        except ValidationError as exc:
            state.failure = exc
            raise

    async def _run(self, name: str, function: AsyncStepFunction) -> None:
        try:
            await function()
        except BaseException as exc:
            self._state.end(name, error=exc)
            raise
        self._state.end(name, error=None)

    async def _checkpoint(self, conn: AsyncConnection[Any], cursor: Any, *, with_cursor: bool) -> Job:
        job = self._context.job
        if job.state is not JobState.RUNNING:
            raise JobNotRunningError(job.id, job.state.value)
        updates = self._state.checkpoint(cursor, with_cursor=with_cursor)
        # The table of the client working the job (riverboat.testing works jobs without one).
        client = self._context.client
        row = await admin.job_merge_metadata(conn, None if client is None else client.schema, job.id, updates)
        self._state.checkpointed(updates)
        return row
