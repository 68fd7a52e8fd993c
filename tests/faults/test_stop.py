"""Stop always stops, even when the database can't be reached: SIGTERM ends the process
after its soft stop plus a bounded wait for the outcomes it can't write, a second signal
sooner; what it could not write stays running for the rescuer (never marked wrongly) and
the log says so, job by job."""

from __future__ import annotations

import pytest

from tests.faults.harness import Cluster, Run, Settings
from tests.faults.proxy import Mode

# Jobs long enough to be caught running; a short rescue window for those left running.
RESCUING = Settings(workers=1, rescue_after=2.0, job_timeout=1.0, job_sleep=0.5, feed_per_second=5)


@pytest.mark.parametrize("signals", [1, 2])
def test_stop_ends_with_the_database_unreachable(fault_cluster: Cluster, signals: int) -> None:
    with Run(fault_cluster, f"stop_{signals}", RESCUING) as run:
        run.warm_up()
        (worker,) = run.alive
        run.wait_for(lambda: run.count("state = 'running'") > 0, 30, "jobs running")
        # Half-open: everything it sends from now on vanishes, and nothing ever answers.
        run.proxy.set_mode(Mode.BLACK_HOLE)
        swallowed = run.proxy.swallowed
        run.outcome.faults += run.proxy.black_hole()
        run.wait_for(lambda: run.proxy.swallowed > swallowed, 30, "the worker to talk into the black hole")
        (took,) = run.stop_workers(signals=signals)
        print(f"stopped in {took:.1f} s")  # for the record (bench-like figures are not asserted)
        log = run.log_of(worker)
        assert run.outcome.stop_hung == 0, log
        assert "outcomes not written" in log, log
        assert "stays running" in log, log
        run.lost_clients.add(worker.client_id)
        # The database is back: a new worker on the same queue rescues and finishes the rest.
        run.proxy.set_mode(Mode.FORWARD)
        run.start_worker(worker.queue)
        outcome = run.finish()
    assert outcome.ok, f"{outcome}\n{run.logs()[-8000:]}"
