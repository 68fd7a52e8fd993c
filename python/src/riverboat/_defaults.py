"""River's defaults and limits, as named values: a leaf module, so that inserting code
(the insert-only client) imports nothing of the worker to learn a default."""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

QUEUE_DEFAULT: Final = "default"
PRIORITY_DEFAULT: Final = 1
MAX_ATTEMPTS_DEFAULT: Final = 25

#: A job may run this long unless its worker says otherwise (River's JobTimeout).
JOB_TIMEOUT_DEFAULT: Final = timedelta(minutes=1)
#: A job still running this long after its timeout is reported stuck (River's JobStuckThreshold).
JOB_STUCK_THRESHOLD_DEFAULT: Final = timedelta(seconds=10)
#: How long a hard stop waits for ``def`` workers' threads, which cannot be interrupted,
#: before it leaves their jobs ``running`` for the rescuer.
THREAD_STOP_WAIT_DEFAULT: Final = timedelta(seconds=10)
#: A ``running`` job attempted longer ago than this is rescued (River's RescueStuckJobsAfter).
RESCUE_STUCK_JOBS_AFTER_DEFAULT: Final = timedelta(hours=1)

KEEP_FOREVER: Literal[-1] = -1
"""A retention that never deletes jobs of that state (River's -1)."""
Retention = timedelta | Literal[-1]
CANCELLED_JOB_RETENTION_DEFAULT: Final = timedelta(hours=24)
COMPLETED_JOB_RETENTION_DEFAULT: Final = timedelta(hours=24)
DISCARDED_JOB_RETENTION_DEFAULT: Final = timedelta(days=7)

#: Per queue and client (River's QueueConfig.MaxWorkers default and limit).
MAX_WORKERS_DEFAULT: Final = 100
MAX_WORKERS_LIMIT: Final = 10_000
FETCH_COOLDOWN_DEFAULT: Final = timedelta(milliseconds=100)
FETCH_POLL_INTERVAL_DEFAULT: Final = timedelta(seconds=1)
FETCH_INTERVAL_MIN: Final = timedelta(milliseconds=1)

#: The largest JSON a job's output (``metadata.output``) may encode to (River's 32 MB).
OUTPUT_MAX_BYTES: Final = 32 * 1024 * 1024

#: Connections of a pool a client creates itself: room for a working client's producers,
#: completer, elector and maintenance at once.
OWNED_POOL_MAX_SIZE: Final = 10

#: How long riverboat waits for the database, per kind of call, before it gives the call up
#: (``DatabaseTimeouts``); River's timeouts where River has one.
#: Fetch, completion writes, queue registration and polls (River's HotOperationTimeout).
DATABASE_TIMEOUT_WORK_DEFAULT: Final = timedelta(seconds=10)
#: Connecting the LISTEN connection, LISTEN, its health ping (River's listenerTimeout).
DATABASE_TIMEOUT_LISTENER_DEFAULT: Final = timedelta(seconds=10)
#: Election, lease renewal and resignation (River's elector deadline).
DATABASE_TIMEOUT_LEADER_DEFAULT: Final = timedelta(seconds=5)
#: Each batch of a maintenance service (River's maintenance TimeoutDefault).
DATABASE_TIMEOUT_MAINTENANCE_DEFAULT: Final = timedelta(seconds=30)
#: One admin call (get, list, cancel, retry, delete, queues, leader).
DATABASE_TIMEOUT_ADMIN_DEFAULT: Final = timedelta(seconds=30)
#: One insert call, however many jobs it holds.
DATABASE_TIMEOUT_INSERT_DEFAULT: Final = timedelta(seconds=60)

#: Connection parameters riverboat adds to the conninfo of the connections it opens, unless
#: the conninfo sets them: a bounded connect, and TCP keepalives plus tcp_user_timeout so
#: that the kernel drops a connection whose peer went silent (a half-open connection).
CONNECTION_DEFAULTS: Final = {
    "connect_timeout": "5",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "15000",
}
