"""The state of a resumable job attempt (spec/07-complete.md#resumable): River's step and
cursor rules as pure decisions, shared by the async steps (``_async/resumable.py``) and
their generated sync twin.

A job's metadata holds its progress exactly as River Go keeps it, so either language can
resume the other's job: ``river:resumable_step`` is the name of the last completed step,
``river:resumable_cursor`` an object of step name to cursor (any JSON) for steps that
were interrupted part way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Final

from riverboat._rules import json_value
from riverboat.errors import ValidationError
from riverboat.worker import JobContext

STEP_KEY: Final = "river:resumable_step"
CURSOR_KEY: Final = "river:resumable_cursor"

StepFunction = Callable[[], object]
AsyncStepFunction = Callable[[], Awaitable[object]]
CursorStepFunction = Callable[[Any], object]
AsyncCursorStepFunction = Callable[[Any], Awaitable[object]]

#: The job attempt that opened a resumable block in this task or thread.
_opened_for: ContextVar[JobContext | None] = ContextVar("riverboat_resumable_opened_for", default=None)


def open_attempt(context: JobContext) -> ResumableState:
    """The state of the job attempt ``context``: one block per attempt, since each block
    starts from the progress as fetched and a second would disagree with the first."""
    if _opened_for.get() is context:
        raise ValidationError("resumable", "duplicate", "a job attempt opens one resumable block")
    state = ResumableState(context.job.metadata)
    _opened_for.set(context)
    return state


class ResumableState:
    """One attempt's progress through its steps (River's ResumableState).

    Read from the job's metadata as fetched: the step to resume after (skipped, with every
    step before it) and the saved cursors. A step runs when ``begin`` says so; ``complete``
    records that it returned. ``progress`` is what to merge into the metadata when the
    attempt ends other than in success: River writes nothing on success.
    """

    def __init__(self, metadata: Mapping[str, Any]) -> None:
        step = metadata.get(STEP_KEY)
        # River reads the step as a string and anything else as "no step".
        self.resume_step = step if isinstance(step, str) else ""
        self.resume_matched = self.resume_step == ""
        cursors = metadata.get(CURSOR_KEY)
        if isinstance(cursors, list):
            raise ValidationError(f"metadata.{CURSOR_KEY}", "type", "must be an object of step name to cursor")
        self.cursors: dict[str, Any] = dict(cursors) if isinstance(cursors, dict) else {}
        # Cursors saved before any step completed name the steps a retry must reach
        # before it may complete (River's PendingCursorSteps); with a step marker,
        # older cursors may be stale and are not demanded.
        self.pending_cursor_steps = sorted(self.cursors) if self.resume_step == "" else []
        self.step_names: set[str] = set()
        self.completed_step = ""
        self.cursors_dirty = False
        self.active_step: str | None = None
        self.active_has_cursor = False
        #: The first step error: later steps are skipped and the attempt fails with it.
        self.failure: BaseException | None = None

    def begin(self, name: str, *, cursor_step: bool) -> bool:
        """Register step ``name``; whether to run it now (else it was done on an earlier attempt)."""
        if not isinstance(name, str):
            raise ValidationError("step", "type", "a step name must be a string", name)
        if not name:
            raise ValidationError("step", "length", "a step name must not be empty", name)
        if self.active_step is not None:
            raise ValidationError(
                "step", "conflict", f"steps cannot be nested (inside step {self.active_step!r})", name
            )
        if name in self.step_names:
            raise ValidationError("step", "duplicate", "a step name is used once per job", name)
        self.step_names.add(name)
        if not cursor_step and name in self.pending_cursor_steps:
            raise ValidationError(
                "step", "conflict", "has a saved cursor, so it must be a cursor step (step_cursor)", name
            )
        if not self.resume_matched:
            if name != self.resume_step:
                return False
            self.completed_step = name
            self.resume_matched = True
            # A cursor saved for the resume step means it was checkpointed part way: run it again.
            if not (cursor_step and name in self.cursors):
                return False
        if cursor_step and name in self.pending_cursor_steps:
            self.pending_cursor_steps.remove(name)
        self.active_step = name
        self.active_has_cursor = cursor_step
        return True

    def cursor(self, name: str) -> Any:
        """The cursor saved for step ``name`` (``None`` if there is none)."""
        return self.cursors.get(name)

    def end(self, name: str, *, error: BaseException | None) -> None:
        """Step ``name`` returned (``error`` is ``None``) or raised ``error``."""
        self.active_step = None
        self.active_has_cursor = False
        if error is not None:
            self.failure = error
            return
        self.completed_step = name
        if name in self.cursors:
            del self.cursors[name]
            self.cursors_dirty = True

    def set_cursor(self, cursor: Any) -> None:
        """Record ``cursor`` for the running cursor step, saved if the attempt is interrupted."""
        name = self._cursor_step("set_cursor")
        self.cursors[name] = json_value("cursor", cursor)
        self.cursors_dirty = True

    def checkpoint(self, cursor: Any, *, with_cursor: bool) -> dict[str, Any]:
        """The metadata a transactional checkpoint of the running step writes: this step as
        completed, and the cursors (with ``cursor`` for it when ``with_cursor``)."""
        if with_cursor:
            name = self._cursor_step("set_step_cursor_tx")
            encoded = json_value("cursor", cursor)
        elif self.active_step is None:
            raise ValidationError("step", "required", "set_step_tx is called inside a step")
        else:
            name = self.active_step
        if self.pending_cursor_steps:
            raise ValidationError(
                "step",
                "conflict",
                f"a checkpoint cannot precede the saved cursor step {self.pending_cursor_steps[0]!r}",
                name,
            )
        cursors = dict(self.cursors)
        if with_cursor:
            cursors[name] = encoded
        return {STEP_KEY: name, CURSOR_KEY: cursors or None}

    def checkpointed(self, updates: Mapping[str, Any]) -> None:
        """A checkpoint was written: the database holds this progress now, so only later
        progress belongs in the attempt's own metadata updates."""
        self.completed_step = ""
        self.cursors = dict(updates[CURSOR_KEY] or {})
        self.cursors_dirty = False

    def exit_error(self) -> ValidationError | None:
        """Why an attempt whose code returned normally still fails: its metadata names a
        step this worker never reached."""
        if not self.resume_matched:
            return ValidationError(
                f"metadata.{STEP_KEY}", "choice", "names a step this worker does not run", self.resume_step
            )
        if self.pending_cursor_steps:
            return ValidationError(
                f"metadata.{CURSOR_KEY}",
                "choice",
                "holds a cursor for a step this worker does not run",
                self.pending_cursor_steps[0],
            )
        return None

    def progress(self) -> dict[str, Any]:
        """The metadata to merge when the attempt ends in an error, snooze or cancel."""
        # Advancing the step before the saved cursor's step is reached again could make
        # that step unreachable.
        if self.pending_cursor_steps:
            return {}
        updates: dict[str, Any] = {}
        if self.cursors_dirty:
            # The merge is additive: null clears cursors that were all consumed.
            updates[CURSOR_KEY] = self.cursors or None
        if self.completed_step:
            updates[STEP_KEY] = self.completed_step
        return updates

    def _cursor_step(self, operation: str) -> str:
        if self.active_step is None or not self.active_has_cursor:
            raise ValidationError("cursor", "conflict", f"{operation} is called inside a cursor step (step_cursor)")
        return self.active_step
