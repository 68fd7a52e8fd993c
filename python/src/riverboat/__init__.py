"""riverboat: River's job protocol for Python.

The public API is the names in ``__all__``; modules whose names begin with an
underscore are private.
"""

import sys as _sys

# pip will not install riverboat on an older Python (requires-python); a copied or forced
# install is stopped here, before a newer feature fails somewhere less clear.
if _sys.version_info < (3, 11):  # noqa: UP036
    raise ImportError(f"riverboat needs Python 3.11 or newer; this is Python {_sys.version.split()[0]}")

from importlib.metadata import version as _version

from riverboat._db import DatabaseTimeouts
from riverboat._defaults import KEEP_FOREVER
from riverboat._insert import InsertManyParams, InsertOpts
from riverboat._retry import DefaultRetryPolicy, RetryPolicy
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.admin import JobListParams, JobListResult, LeaderRow, Queue
from riverboat.args import JobArgs, RawArgs
from riverboat.client import AsyncClient, Client, current_client, current_sync_client
from riverboat.contract import Contract
from riverboat.errors import (
    ArgsContractError,
    DatabaseConnectionError,
    DatabaseTimeoutError,
    JobCancel,
    JobDiscard,
    JobNotFoundError,
    JobNotRunningError,
    JobRunningError,
    JobSnooze,
    NotFoundError,
    QueueNotFoundError,
    RiverboatError,
    SchemaNotMigratedError,
    UniqueConflictError,
    UnknownKindError,
    ValidationError,
)
from riverboat.events import Event, EventKind, Events
from riverboat.job import AttemptError, InsertResult, Job
from riverboat.middleware import (
    ErrorHandler,
    ErrorHandlerResult,
    Hook,
    JobGetAvailableMetric,
    JobInsertParams,
    Middleware,
)
from riverboat.periodic import PeriodicJob
from riverboat.resumable import AsyncResumableSteps, ResumableSteps, resumable
from riverboat.worker import (
    NO_TIMEOUT,
    FunctionWorker,
    JobStuckInfo,
    JobStuckResult,
    QueueConfig,
    Worker,
    Workers,
    WorkJob,
    cancel,
    cancellation_requested,
    discard,
    record_output,
    set_metadata,
    snooze,
)

__version__ = _version("riverboat")

__all__ = [
    "KEEP_FOREVER",
    "NO_TIMEOUT",
    "ArgsContractError",
    "AsyncClient",
    "AsyncResumableSteps",
    "AttemptError",
    "Client",
    "Contract",
    "DatabaseConnectionError",
    "DatabaseTimeoutError",
    "DatabaseTimeouts",
    "DefaultRetryPolicy",
    "ErrorHandler",
    "ErrorHandlerResult",
    "Event",
    "EventKind",
    "Events",
    "FunctionWorker",
    "Hook",
    "InsertManyParams",
    "InsertOpts",
    "InsertResult",
    "Job",
    "JobArgs",
    "JobCancel",
    "JobDiscard",
    "JobGetAvailableMetric",
    "JobInsertParams",
    "JobListParams",
    "JobListResult",
    "JobNotFoundError",
    "JobNotRunningError",
    "JobRunningError",
    "JobSnooze",
    "JobState",
    "JobStuckInfo",
    "JobStuckResult",
    "LeaderRow",
    "Middleware",
    "NotFoundError",
    "PeriodicJob",
    "Queue",
    "QueueConfig",
    "QueueNotFoundError",
    "RawArgs",
    "ResumableSteps",
    "RetryPolicy",
    "RiverboatError",
    "SchemaNotMigratedError",
    "UniqueConflictError",
    "UniqueOpts",
    "UnknownKindError",
    "ValidationError",
    "WorkJob",
    "Worker",
    "Workers",
    "__version__",
    "cancel",
    "cancellation_requested",
    "current_client",
    "current_sync_client",
    "discard",
    "record_output",
    "resumable",
    "set_metadata",
    "snooze",
]
