"""Resumable jobs (spec/07-complete.md#resumable): River's named steps and cursors.

Inside ``work``, ``riverboat.resumable()`` opens the attempt's steps, with ``async with``
in an ``async def`` worker (steps are ``async`` functions) and with ``with`` in a ``def``
worker::

    async def work(self, job: WorkJob[Import]) -> None:
        async with riverboat.resumable() as steps:
            await steps.step("download", download)

            async def load(cursor: int | None) -> None:
                for row in rows_after(cursor):
                    await save(row)
                    steps.set_cursor(row.id)

            await steps.step_cursor("load", load)
            await steps.step("notify", notify)

A step an earlier attempt completed is skipped; a cursor step resumes from the cursor an
interrupted attempt saved. Progress is kept in the job's metadata where River Go keeps
it, so a job interrupted in either language resumes in the other.
"""

from __future__ import annotations

from types import TracebackType

from riverboat._async.resumable import AsyncResumableSteps
from riverboat._sync.resumable import ResumableSteps

__all__ = ["AsyncResumableSteps", "Resumable", "ResumableSteps", "resumable"]


class Resumable:
    """The steps of the job attempt being worked, opened by ``with`` (``ResumableSteps``,
    for ``def`` steps) or ``async with`` (``AsyncResumableSteps``, for ``async def`` steps).
    Outside ``work`` opening it is an error."""

    _steps: ResumableSteps
    _async_steps: AsyncResumableSteps

    def __enter__(self) -> ResumableSteps:
        self._steps = ResumableSteps()
        return self._steps.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._steps.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> AsyncResumableSteps:
        self._async_steps = AsyncResumableSteps()
        return await self._async_steps.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._async_steps.__aexit__(exc_type, exc, tb)


def resumable() -> Resumable:
    """The steps of the job being worked: ``with resumable() as steps`` in a ``def`` worker,
    ``async with resumable() as steps`` in an ``async def`` one."""
    return Resumable()
