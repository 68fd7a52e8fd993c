"""Every error riverboat raises on purpose, in one module.

Each class has a stable ``code`` (a short word that never changes between releases, the
same in every riverboat client: spec/15-errors.md) and a message that names what
was wrong. A ``ValidationError`` also names the ``field`` and the ``rule`` it broke, as a
short code from ``RULES``; its message says the rule in words.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Final

#: The rule codes a ``ValidationError`` may carry, shared by every riverboat client.
RULES: Final = frozenset(
    {
        "type",  # a value of the wrong type
        "range",  # a number or duration outside its allowed range
        "length",  # a string or list too short or too long
        "pattern",  # text that does not match its pattern (queue names, tags, kinds)
        "format",  # text that does not parse (a time, a cursor, a cron expression)
        "json",  # not JSON, or not encodable as JSON
        "reserved",  # a name or key reserved for River
        "required",  # a value that must be given was not
        "choice",  # not one of the allowed values
        "duplicate",  # a name registered twice
        "conflict",  # a value that contradicts another setting
        "path",  # a unique by_args path that is not a valid path
        "required_states",  # unique by_state without available, pending, running and scheduled
        "unknown_state",  # a state name that is not a job state
        "requires_dimension",  # unique exclude_kind without another dimension
        "contract",  # args that break their kind's JSON Schema in a job-args contract
    }
)

_UNSET: Final = object()


class RiverboatError(Exception):
    """Base class of every error riverboat raises on purpose."""

    code: ClassVar[str] = "riverboat_error"


class ValidationError(RiverboatError, ValueError):
    """A value broke a rule. ``field`` names the value, ``rule`` is the rule's code (one of
    ``RULES``), ``message`` says the rule in words, ``value`` is what was given."""

    code: ClassVar[str] = "invalid"

    def __init__(self, field: str, rule: str, message: str, value: object = _UNSET) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown validation rule code {rule!r}")
        self.field = field
        self.rule = rule
        self.message = message
        self.value = None if value is _UNSET else value
        shown = "" if value is _UNSET else f" (got {_short_repr(value)})"
        super().__init__(f"invalid {field} ({rule}): {message}{shown}")


def _short_repr(value: object, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class UnknownKindError(ValidationError):
    """The client's job-args contract is strict and does not list the kind (spec/05-args-contract.md#strict-mode)."""

    code: ClassVar[str] = "unknown_kind"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__("kind", "choice", "is not in the client's strict job-args contract", kind)


class ArgsContractError(ValidationError):
    """Args broke their kind's JSON Schema (spec/05-args-contract.md). ``pointer`` is the
    JSON pointer (RFC 6901) of the offending value, ``keyword`` the schema keyword broken."""

    code: ClassVar[str] = "contract_violation"

    def __init__(self, kind: str, pointer: str, keyword: str, message: str) -> None:
        self.kind = kind
        self.pointer = pointer
        self.keyword = keyword
        super().__init__("args", "contract", f"of kind {kind!r} at JSON pointer {pointer!r}: {keyword}: {message}")


class CronError(ValidationError):
    """A periodic job's schedule could not be parsed (River Go's cron syntax)."""

    def __init__(self, message: str, value: object = _UNSET) -> None:
        super().__init__("schedule", "format", message, value)


class NotFoundError(RiverboatError, LookupError):
    """The job or queue named does not exist."""

    code: ClassVar[str] = "not_found"


class JobNotFoundError(NotFoundError):
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} not found")


class QueueNotFoundError(NotFoundError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"queue {name!r} not found")


class JobNotRunningError(RiverboatError):
    """A job had to be running (``complete_tx``) and was not: finalized, cancelled or rescued meanwhile."""

    code: ClassVar[str] = "job_not_running"

    def __init__(self, job_id: int, state: str | None = None) -> None:
        self.job_id = job_id
        self.state = state
        found = "not found" if state is None else f"{state}, not running"
        super().__init__(f"job {job_id} is {found}; it was finalized, cancelled or rescued meanwhile")


class JobRunningError(RiverboatError):
    """The operation never touches a running job (delete); cancel it first."""

    code: ClassVar[str] = "job_running"

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} is running and cannot be deleted; cancel it first")


class UniqueConflictError(RiverboatError):
    """Retrying the job would break its unique key: another live job holds it."""

    code: ClassVar[str] = "unique_conflict"

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(f"retrying job {job_id} conflicts with another active job with the same unique key")


class MigrationError(RiverboatError):
    """A migration could not be applied, reverted or verified."""

    code: ClassVar[str] = "migration"


class DatabaseConnectionError(MigrationError):
    """The database could not be reached; the message names where and why."""

    code: ClassVar[str] = "database_unreachable"


class SchemaNotMigratedError(RiverboatError):
    """River's tables are missing from the database, or older than this riverboat needs.
    ``missing`` maps each migration line to its versions that are not applied."""

    code: ClassVar[str] = "not_migrated"

    def __init__(self, where: str, missing: dict[str, list[int]]) -> None:
        self.missing = missing
        lines = ", ".join(
            f"{line} line version{'s' if len(versions) > 1 else ''} {_describe_versions(versions)}"
            for line, versions in missing.items()
        )
        super().__init__(f"the database at {where} is not migrated ({lines} not applied): run `riverboat migrate up`")


def _describe_versions(versions: list[int]) -> str:
    """``001, 003, 005..008``: sorted versions, consecutive runs joined."""
    runs: list[list[int]] = []
    for version in sorted(versions):
        if runs and version == runs[-1][-1] + 1:
            runs[-1].append(version)
        else:
            runs.append([version])
    return ", ".join(f"{r[0]:03d}" if len(r) == 1 else f"{r[0]:03d}..{r[-1]:03d}" for r in runs)


class DatabaseTimeoutError(RiverboatError, TimeoutError):
    """The database did not answer a call within its deadline (``DatabaseTimeouts``); the
    call was given up and its connection closed or cancelled, never reused mid-statement."""

    code: ClassVar[str] = "database_timeout"

    def __init__(self, what: str, seconds: float) -> None:
        self.what = what
        self.seconds = seconds
        super().__init__(f"{what}: no answer from the database within {seconds:.3g} s")


class DevDatabaseError(RiverboatError):
    """The development database could not be started, stopped or found."""

    code: ClassVar[str] = "dev_database"


class JobCancel(RiverboatError):
    """Raised from ``work`` (see ``riverboat.cancel``): the job ends ``cancelled``, never retried."""

    code: ClassVar[str] = "job_cancel"


class JobDiscard(RiverboatError):
    """Raised from ``work`` (see ``riverboat.discard``): the job ends ``discarded``, never retried."""

    code: ClassVar[str] = "job_discard"


class JobSnooze(RiverboatError):
    """Raised from ``work`` (see ``riverboat.snooze``): the job runs again after
    ``duration``, the attempt is given back and no error is recorded."""

    code: ClassVar[str] = "job_snooze"

    def __init__(self, duration: timedelta) -> None:
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise ValidationError("snooze duration", "range", "must be a timedelta >= 0", duration)
        self.duration = duration
        super().__init__(f"snoozed for {duration}")
