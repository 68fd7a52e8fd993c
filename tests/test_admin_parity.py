"""Every method of River Go v0.51.2's Client, read from River's own source, has its
riverboat counterpart on both clients, or a stated reason why not (spec/12-queues-and-admin.md#parity).
A River release that adds a method fails this test until the table says what riverboat does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from riverboat import AsyncClient, Client
from tests.helpers import GO_HELPERS

RIVER = "github.com/riverqueue/river@v0.51.2"

#: River method -> riverboat method on both clients.
COUNTERPARTS = {
    "Insert": "insert",
    "InsertTx": "insert_tx",
    "InsertMany": "insert_many",
    "InsertManyTx": "insert_many_tx",
    "InsertManyFast": "insert_many_fast",
    "InsertManyFastTx": "insert_many_fast_tx",
    "JobCancel": "job_cancel",
    "JobCancelTx": "job_cancel_tx",
    "JobDelete": "job_delete",
    "JobDeleteTx": "job_delete_tx",
    "JobDeleteMany": "job_delete_many",
    "JobDeleteManyTx": "job_delete_many_tx",
    "JobGet": "job_get",
    "JobGetTx": "job_get_tx",
    "JobList": "job_list",
    "JobListTx": "job_list_tx",
    "JobRetry": "job_retry",
    "JobRetryTx": "job_retry_tx",
    "JobUpdate": "job_update",
    "JobUpdateTx": "job_update_tx",
    "QueueGet": "queue_get",
    "QueueGetTx": "queue_get_tx",
    "QueueList": "queue_list",
    "QueueListTx": "queue_list_tx",
    "QueuePause": "queue_pause",
    "QueuePauseTx": "queue_pause_tx",
    "QueueResume": "queue_resume",
    "QueueResumeTx": "queue_resume_tx",
    "QueueUpdate": "queue_update",
    "QueueUpdateTx": "queue_update_tx",
    # Notify() is a bundle of one operation, RequestResign(Tx).
    "Notify": "leader_request_resign",
    "ID": "client_id",
    "Schema": "schema",
    "Stop": "stop",
    "StopAndCancel": "stop_and_cancel",
    # Subscribe(kinds...) / SubscribeConfig{Kinds, ChanSize}: a callback hub instead of channels.
    "Subscribe": "events",
    "SubscribeConfig": "events",
}
#: Named differently in the two clients.
SPLIT = {"Start": ("start", "run")}
#: River methods riverboat has no counterpart for, and why.
WITHOUT = {
    "Driver": "River's database driver, documented as unstable; riverboat has one driver, psycopg",
    "Pilot": "River Pro's extension point, documented as unstable",
    "Stopped": "a channel closed at stop: AsyncClient.stop() returns when stopped, Client.run() returns",
    "PeriodicJobs": "runtime changes to periodic jobs; riverboat's are fixed at construction (periodic_jobs)",
    "Queues": "runtime adding and removing of queues; riverboat's are fixed at construction (queues)",
}


def _river_client_methods() -> set[str]:
    found = subprocess.run(
        ["go", "mod", "download", "-json", RIVER], cwd=GO_HELPERS, capture_output=True, text=True, check=True
    )
    source = (Path(json.loads(found.stdout)["Dir"]) / "client.go").read_text()
    return set(re.findall(r"^func \(c \*Client\[TTx\]\) ([A-Z]\w*)\(", source, re.MULTILINE))


def test_the_table_names_every_river_client_method() -> None:
    assert _river_client_methods() == set(COUNTERPARTS) | set(SPLIT) | set(WITHOUT)


@pytest.mark.parametrize("client", [AsyncClient, Client])
def test_both_clients_have_every_counterpart(client: type[AsyncClient] | type[Client]) -> None:
    missing = [name for name in COUNTERPARTS.values() if not hasattr(client, name)]
    assert missing == []


def test_start_is_start_and_run() -> None:
    asynchronous, synchronous = SPLIT["Start"]
    assert hasattr(AsyncClient, asynchronous)
    assert hasattr(Client, synchronous)


@pytest.mark.parametrize("client", [AsyncClient, Client])
def test_every_admin_operation_has_a_tx_form(client: type[AsyncClient] | type[Client]) -> None:
    admin = [n for n in dir(client) if n.startswith(("job_", "queue_", "leader_")) and not n.endswith("_tx")]
    assert admin
    assert [n for n in admin if not hasattr(client, f"{n}_tx")] == []
