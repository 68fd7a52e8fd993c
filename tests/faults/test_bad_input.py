"""Bad input from the network or the configuration: a proxy answering garbage, a server
closing during the start-up handshake, a low statement_timeout in the user's conninfo.
Each is logged clearly, the worker keeps trying, and nothing is lost."""

from __future__ import annotations

import pytest

from tests.faults.harness import Cluster, Run, Settings
from tests.faults.proxy import Mode


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        (Mode.GARBAGE, "listener failed: OperationalError"),
        (Mode.HANDSHAKE_CLOSE, "listener failed: OperationalError"),
    ],
)
def test_a_broken_server_is_reported_and_outlived(fault_cluster: Cluster, mode: Mode, logged: str) -> None:
    with Run(fault_cluster, mode.value, Settings(workers=2)) as run:
        run.warm_up()
        run.proxy.set_mode(mode)
        run.outcome.faults += run.proxy.cut()
        run.wait_for(lambda: run.proxy.accepted > 20, 30, "the workers to try the broken server")
        run.proxy.set_mode(Mode.FORWARD)
        run.mark_recovery_from_now()
        run.wait_for_more_work()
        outcome = run.finish()
        logs = run.logs()
    assert outcome.ok, f"{outcome}\n{logs[-8000:]}"
    assert logged in logs, logs[-8000:]


def test_a_low_statement_timeout_from_the_conninfo_is_reported_and_outlived(fault_cluster: Cluster) -> None:
    settings = Settings(workers=1, url_suffix="?options=-c%20statement_timeout%3D200")
    with Run(fault_cluster, "statement_timeout", settings) as run:
        run.warm_up()
        with run.connect() as conn, conn.transaction():
            conn.execute("LOCK TABLE river_job IN ACCESS EXCLUSIVE MODE")
            run.outcome.faults += 1
            # The lock is held until the user's statement_timeout has ended a worker's statement.
            timed_out = "canceling statement due to statement timeout"
            run.wait_for(lambda: timed_out in run.logs(), 30, "a statement timeout")
        run.mark_recovery_from_now()
        run.wait_for_more_work()
        outcome = run.finish()
        logs = run.logs()
    assert outcome.ok, f"{outcome}\n{logs[-8000:]}"
    # The user's statement_timeout applied (riverboat's own default never overrides it),
    # and the log says where such a timeout comes from.
    assert "QueryCanceled [57014]: canceling statement due to statement timeout" in logs, logs[-8000:]
    assert "the session's statement_timeout ended it" in logs, logs[-8000:]
