"""Fault scenarios against real worker processes, shared by the test suite and ``scripts/chaos``.

A ``Cluster`` is a private PostgreSQL (scenarios restart it) with a migrated template. A
``Run`` is one scenario on a fresh database: ``riverboat work tests.faults.worker:make``
processes connect through a ``FaultProxy``, a feeder inserts probe jobs at a steady rate,
a scenario function breaks something, and ``Run.verify`` checks the invariants from the
side table every execution writes:

- no job lost: every job reaches a final state (``completed``: probes always succeed in
  the end) and none is left ``running``;
- a job runs to success more than once only if an earlier attempt of it was rescued from
  a process that was killed (or stopped unable to write): its outcome was lost with it;
- no impossible row: ``finalized_at`` set exactly for final states, each attempt's error
  recorded at most once (an outcome applied twice would repeat it), no ``completed`` job
  that never ran, no attempt beyond ``max_attempts``.

``recover`` is how long the workers took to fetch again: from the fault (or from the
moment the database was reachable again, for outages) until every worker that was alive
then had fetched a job again; for kills, until the killed process's jobs were finished.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from riverboat.devdb import DevDatabase
from tests.faults.proxy import FaultProxy, Mode
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
RESCUE_ERROR = "Stuck job rescued by JobRescuer"
FINAL_STATES = ("completed", "cancelled", "discarded")
#: How long a worker may take to stop after SIGTERM before the scenario calls it hung
#: (its soft stop timeout is 2 s; a stop that works ends well within this).
STOP_WAIT = 45.0
#: What `riverboat work` logs when it hears its first stop signal, and a later one.
SIGNALS_HEARD = ("stopping (running jobs finish", "cancelling running jobs")
FEED_TICK = 0.1
#: Jobs put in every queue when recovery starts being measured.
RECOVERY_PROBES = 5


class Cluster:
    """A private PostgreSQL for the fault scenarios, with a migrated template database."""

    TEMPLATE = "fault_template"

    def __init__(self, parent: Path | None = None) -> None:
        parent = parent or Path(tempfile.mkdtemp(prefix="riverboat-faults-"))
        os.chmod(parent, 0o755)
        self.db = DevDatabase(parent / "cluster")
        self._count = 0

    def start(self) -> Cluster:
        from riverboat.migrate import Migrator  # noqa: PLC0415

        self.db.start()
        with psycopg.connect(self.db.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.TEMPLATE)))
        with psycopg.connect(self.db.url(self.TEMPLATE), autocommit=True) as conn:
            migrator = Migrator(conn)
            for line in migrator.lines():
                migrator.up(line=line)
            conn.execute(
                "CREATE TABLE fault_execution (job_id bigint NOT NULL, attempt integer NOT NULL, outcome text NOT NULL,"
                " client_id text NOT NULL, attempted_at timestamptz NOT NULL, at timestamptz NOT NULL DEFAULT now())"
            )
        return self

    @property
    def port(self) -> int:
        return int(str(psycopg.conninfo.conninfo_to_dict(self.db.url())["port"]))

    def new_database(self, label: str) -> str:
        self._count += 1
        name = f"fault_{self._count}_{label}"
        with psycopg.connect(self.db.url("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(self.TEMPLATE))
            )
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.db.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def destroy(self) -> None:
        self.db.destroy()


@dataclass
class Outcome:
    """One scenario's counts (the chaos table's row) and what went wrong."""

    scenario: str
    jobs: int = 0
    faults: int = 0
    lost: int = 0
    stuck: int = 0
    double_run: int = 0
    unexplained: int = 0
    impossible: int = 0
    stop_hung: int = 0
    recover: float | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Settings:
    """How a run's workers are configured (environment of ``tests.faults.worker``)."""

    workers: int = 3
    profile: str = "fast"
    rescue_after: float = 120.0
    job_timeout: float = 5.0
    feed_per_second: int = 40
    job_sleep: float = 0.02
    #: ``PYTHONPATH`` entry for the riverboat to run (default: this checkout's).
    library: str | None = None
    #: Extra conninfo appended to the workers' URL (e.g. options).
    url_suffix: str = ""


@dataclass
class Worker:
    client_id: str
    #: Each worker works a queue of its own, so that each one's recovery shows in its fetches.
    queue: str
    process: subprocess.Popen[bytes]
    log: Path


class Run:
    """One scenario on a fresh database of ``cluster``; use as a context manager."""

    def __init__(self, cluster: Cluster, scenario: str, settings: Settings | None = None) -> None:
        self.cluster = cluster
        self.scenario = scenario
        self.settings = settings or Settings()
        self.outcome = Outcome(scenario)
        self.dbname = cluster.new_database(scenario)
        self.direct_url = cluster.db.url(self.dbname)
        self.proxy = FaultProxy("127.0.0.1", cluster.port)
        self.proxy.start()
        self.workers: list[Worker] = []
        #: Clients whose unwritten outcomes may be lost: killed, or stopped unable to write.
        self.lost_clients: set[str] = set()
        #: When the fault hit (or the database came back); per scenario.
        self.recovery_from: datetime | None = None
        self._alive_at_fault: list[Worker] = []
        #: Recovery as the scenario measured it itself, if it did.
        self.recovery_measured: float | None = None
        self.recovery_of_kills: list[tuple[datetime, str]] = []
        self._feeding = threading.Event()
        self._feeder: threading.Thread | None = None
        self._feed_errors = 0
        self._counter = 0
        self._started = time.monotonic()
        self._logs = Path(tempfile.mkdtemp(prefix=f"riverboat-fault-{scenario}-"))

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_feeding()
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
        self.proxy.close()
        with contextlib.suppress(psycopg.Error):
            self.cluster.drop_database(self.dbname)

    # -- workers -----------------------------------------------------------------------

    @property
    def queues(self) -> list[str]:
        return sorted({w.queue for w in self.workers})

    def start_worker(self, queue: str | None = None) -> Worker:
        self._counter += 1
        client_id = f"{self.scenario}_w{self._counter}"
        queue = queue or f"q{self._counter}"
        settings = self.settings
        env = {
            **os.environ,
            "FAULT_QUEUE": queue,
            "FAULT_URL": self.proxy.url(self.dbname) + settings.url_suffix,
            "FAULT_SIDE_URL": self.direct_url,
            "FAULT_CLIENT_ID": client_id,
            "FAULT_PROFILE": settings.profile,
            "FAULT_RESCUE_AFTER": str(settings.rescue_after),
            "FAULT_JOB_TIMEOUT": str(settings.job_timeout),
            "PYTHONPATH": os.pathsep.join(p for p in (settings.library, str(ROOT), os.environ.get("PYTHONPATH")) if p),
        }
        log = self._logs / f"{client_id}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "riverboat", "work", "tests.faults.worker:make"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        worker = Worker(client_id, queue, process, log)
        self.workers.append(worker)
        return worker

    def start_workers(self) -> None:
        for _ in range(self.settings.workers):
            self.start_worker()

    @property
    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.process.poll() is None]

    def kill(self, worker: Worker) -> None:
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait()
        self.lost_clients.add(worker.client_id)
        self.outcome.faults += 1
        self.recovery_of_kills.append((self.db_now(), worker.client_id))

    def stop_workers(self, *, signals: int = 1) -> list[float]:
        """SIGTERM every live worker (``signals`` times) and wait; returns how long each took."""
        took = []
        for worker in self.alive:
            started = time.monotonic()
            for heard in SIGNALS_HEARD[:signals]:
                worker.process.send_signal(signal.SIGTERM)
                # The next signal only once this one is heard (or the worker is gone).
                self._wait_heard(worker, heard)
            try:
                worker.process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.outcome.stop_hung += 1
                self.outcome.problems.append(f"{worker.client_id} did not stop within {STOP_WAIT:.0f} s")
                worker.process.kill()
                worker.process.wait()
            took.append(time.monotonic() - started)
        return took

    def _wait_heard(self, worker: Worker, heard: str) -> None:
        wait_until(
            lambda: worker.process.poll() is not None or heard in self.log_of(worker),
            timeout=STOP_WAIT, interval=0.05, what=f"{worker.client_id} to log {heard!r}",
        )  # fmt: skip

    def log_of(self, worker: Worker) -> str:
        return worker.log.read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"== {w.client_id}\n{self.log_of(w)}" for w in self.workers)

    # -- jobs ----------------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.direct_url, autocommit=True, connect_timeout=5)

    def db_now(self) -> datetime:
        """The database's clock (what attempted_at is measured on)."""

        def read() -> datetime | None:
            try:
                with self.connect() as conn:
                    row = conn.execute("SELECT clock_timestamp()").fetchone()
            except psycopg.OperationalError:
                return None
            assert row is not None
            value: datetime = row[0]
            return value

        return wait_until(read, timeout=60, interval=0.05, what="the database's clock")

    def insert(self, per_queue: int) -> None:
        """Insert ``per_queue`` probes in each worker's queue (one in ten fails its first attempt)."""
        queues = self.queues
        with self.connect() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO river_job (args, kind, queue, max_attempts, state)"
                " SELECT jsonb_build_object('sleep', %(sleep)s::float, 'fail_first', random() < 0.1),"
                " 'fault_probe', q, 25, 'available' FROM unnest(%(queues)s::text[]) AS q, generate_series(1, %(n)s)",
                {"n": per_queue, "sleep": self.settings.job_sleep, "queues": queues},
            )
            conn.execute(
                "SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', q)::text)"
                " FROM unnest(%s::text[]) AS q",
                (queues,),
            )
        self.outcome.jobs += per_queue * len(queues)

    def start_feeding(self) -> None:
        """Insert jobs at ``feed_per_second`` until ``stop_feeding`` (through outages)."""
        self._feeding.set()
        per_tick = max(1, round(self.settings.feed_per_second * FEED_TICK / self.settings.workers))

        def feed() -> None:
            while self._feeding.is_set():
                try:
                    self.insert(per_tick)
                except psycopg.Error:
                    self._feed_errors += 1
                time.sleep(FEED_TICK)

        self._feeder = threading.Thread(target=feed, name="fault-feeder", daemon=True)
        self._feeder.start()

    def stop_feeding(self) -> None:
        self._feeding.clear()
        if self._feeder is not None:
            self._feeder.join()
            self._feeder = None

    def count(self, where: str) -> int:
        with self.connect() as conn:
            row = conn.execute(f"SELECT count(*) FROM river_job WHERE {where}").fetchone()
            return int(row[0]) if row else 0

    def completed(self) -> int:
        return self.count("state = 'completed'")

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> bool:

        def holds() -> bool:
            with contextlib.suppress(psycopg.OperationalError):
                return condition()
            return False

        try:
            wait_until(holds, timeout=timeout, interval=0.1, what=what)
        except AssertionError:
            self.outcome.problems.append(f"timed out after {timeout:.0f} s waiting for {what}")
            return False
        return True

    def wait_for_more_work(self, timeout: float = 30.0) -> bool:
        """Wait until more jobs are completed than now: work goes on after a fault."""
        done = self.completed()
        return self.wait_for(lambda: self.completed() > done, timeout, "more jobs completed")

    def warm_up(self, jobs: int = 20, timeout: float = 60.0) -> None:
        """Start the workers and the feeder; return once ``jobs`` are completed."""
        self.start_workers()
        self.start_feeding()
        self.wait_for(lambda: self.completed() >= jobs, timeout, f"{jobs} jobs completed before the fault")

    def finish(self, timeout: float = 90.0, *, signals: int = 1) -> Outcome:
        """Stop feeding, wait for every job to be final, stop the workers, verify."""
        self.stop_feeding()
        self.wait_for(lambda: self.count(f"state NOT IN {FINAL_STATES}") == 0, timeout, "every job to be final")
        self.stop_workers(signals=signals)
        return self.verify()

    # -- invariants ----------------------------------------------------------------------

    def verify(self) -> Outcome:
        outcome = self.outcome
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT j.id, j.state::text, j.attempt, j.max_attempts, j.finalized_at,"
                " coalesce(j.attempted_by, '{}'), coalesce(j.errors, '{}'),"
                " coalesce(e.ok, 0) FROM river_job AS j LEFT JOIN (SELECT job_id, count(*) FILTER"
                " (WHERE outcome = 'ok') AS ok FROM fault_execution GROUP BY job_id) AS e ON e.job_id = j.id"
            ).fetchall()
        for job_id, state, attempt, max_attempts, finalized_at, attempted_by, errors, ok_runs in rows:
            if state not in FINAL_STATES:
                outcome.lost += 1
            if state == "running":
                outcome.stuck += 1
            impossible = [
                (finalized_at is None) == (state in FINAL_STATES) and "finalized_at disagrees with state",
                state in FINAL_STATES and state != "completed" and f"ended {state}",
                state == "completed" and ok_runs == 0 and "completed without running",
                attempt > max_attempts and "attempt beyond max_attempts",
                len({e.get("attempt") for e in errors}) != len(errors) and "an attempt's error recorded twice",
            ]
            for reason in filter(None, impossible):
                outcome.impossible += 1
                outcome.problems.append(f"job {job_id}: {reason}")
            rescued_from = {
                attempted_by[e["attempt"] - 1]
                for e in errors
                if e.get("error") == RESCUE_ERROR and 0 < e.get("attempt", 0) <= len(attempted_by)
            }
            if unexplained_rescue := rescued_from - self.lost_clients:
                outcome.problems.append(f"job {job_id}: rescued from live client(s) {sorted(unexplained_rescue)}")
            if ok_runs > 1:
                outcome.double_run += 1
                if not rescued_from & self.lost_clients:
                    outcome.unexplained += 1
                    outcome.problems.append(f"job {job_id}: ran to success {ok_runs} times, none lost by a kill")
        if outcome.lost:
            outcome.problems.append(f"{outcome.lost} jobs not final ({outcome.stuck} running)")
        outcome.recover = self._recovery()
        outcome.seconds = time.monotonic() - self._started
        return outcome

    def _recovery(self) -> float | None:
        if self.recovery_measured is not None:
            return self.recovery_measured
        with self.connect() as conn:
            if self.recovery_of_kills:
                # Until every job the killed process held was final.
                waits = []
                for killed_at, client_id in self.recovery_of_kills:
                    row = conn.execute(
                        "SELECT max(finalized_at) FROM river_job WHERE attempted_by @> ARRAY[%s]",
                        (client_id,),
                    ).fetchone()
                    if row and row[0] is not None:
                        waits.append((row[0] - killed_at).total_seconds())
                return max(waits, default=None)
            if self.recovery_from is None:
                return None
            rows = conn.execute(
                "SELECT client_id, min(attempted_at) FROM fault_execution WHERE attempted_at > %s GROUP BY client_id",
                (self.recovery_from,),
            ).fetchall()
        first = dict(rows)
        alive = self._alive_at_fault
        if missing := [w for w in alive if w.client_id not in first]:
            # With how each ended (None: still running), so that a worker that died says so.
            ended = {w.client_id: w.process.returncode for w in missing}
            self.outcome.problems.append(f"never fetched again after the fault (exit codes): {ended}")
        return max(
            ((first[w.client_id] - self.recovery_from).total_seconds() for w in alive if w.client_id in first),
            default=None,
        )

    def mark_recovery_from_now(self) -> None:
        """Recovery is measured from now; every queue gets work at once, so each worker's
        first fetch after now shows (whatever the feeder is doing)."""
        self.recovery_from = self.db_now()
        self._alive_at_fault = self.alive
        self.insert(RECOVERY_PROBES)


# -- scenarios ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """How long timed faults last (seconds, drawn at random between the bounds)."""

    stall: tuple[float, float] = (1.0, 1.5)
    outage: tuple[float, float] = (2.0, 4.0)
    #: How long PostgreSQL stays down when restarted (0: a fast restart).
    down: tuple[float, float] = (0.0, 0.0)
    refusal: tuple[float, float] = (2.0, 3.0)
    kills: int = 3


def half_open(run: Run, timing: Timing, rng: random.Random) -> None:
    """Every open connection goes silent (packets dropped, nothing closed); new ones work."""
    run.mark_recovery_from_now()
    run.outcome.faults += run.proxy.black_hole()


def cut(run: Run, timing: Timing, rng: random.Random) -> None:
    """Every open connection is reset at once."""
    run.mark_recovery_from_now()
    run.outcome.faults += run.proxy.cut()


def stall(run: Run, timing: Timing, rng: random.Random) -> None:
    """All traffic is held for a moment (shorter than the deadlines), then delivered."""
    run.proxy.stall()
    run.outcome.faults += 1
    time.sleep(rng.uniform(*timing.stall))
    run.proxy.resume()
    run.mark_recovery_from_now()


def outage(run: Run, timing: Timing, rng: random.Random) -> None:
    """The database is unreachable for a while: connections reset, new ones refused."""
    run.proxy.set_mode(Mode.REFUSE)
    run.outcome.faults += 1
    run.proxy.cut()
    time.sleep(rng.uniform(*timing.outage))
    run.proxy.set_mode(Mode.FORWARD)
    run.mark_recovery_from_now()


def restart(run: Run, timing: Timing, rng: random.Random) -> None:
    """PostgreSQL itself is restarted (fast shutdown: sessions are terminated), at once or
    after staying down a while."""
    run.outcome.faults += 1
    run.cluster.db.restart(down_for=rng.uniform(*timing.down))
    run.mark_recovery_from_now()


def kill(run: Run, timing: Timing, rng: random.Random) -> None:
    """Worker processes are SIGKILLed at random moments and replaced."""
    for _ in range(timing.kills):
        time.sleep(rng.uniform(0.5, 1.5))
        alive = run.alive
        if alive:
            victim = rng.choice(alive)
            run.kill(victim)
            run.start_worker(victim.queue)


REFUSE_TRIGGER = """
CREATE TABLE fault_refuse_all (on_ boolean);
CREATE FUNCTION fault_refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'running' AND NEW.state <> 'running'
        AND (NEW.id % 7 = 0 OR EXISTS (SELECT FROM fault_refuse_all)) THEN
        RAISE EXCEPTION 'fault injection: the outcome of job % is refused', NEW.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault_refuse_completion BEFORE UPDATE ON river_job
    FOR EACH ROW EXECUTE FUNCTION fault_refuse_completion();
"""


def refused_completions(run: Run, timing: Timing, rng: random.Random) -> None:
    """Completion statements fail: for a while every one, and throughout, those of one job
    in seven (a trigger raising), so batches mix refused and accepted outcomes."""
    with run.connect() as conn:
        conn.execute(REFUSE_TRIGGER)
        conn.execute("INSERT INTO fault_refuse_all VALUES (true)")
        run.outcome.faults += 1
        time.sleep(rng.uniform(*timing.refusal))
        conn.execute("DELETE FROM fault_refuse_all")
        time.sleep(rng.uniform(*timing.refusal))
        conn.execute("DROP TRIGGER fault_refuse_completion ON river_job")
    # Recovery: until every outcome held back by then is written.
    healed = time.monotonic()
    run.mark_recovery_from_now()
    held = f"state = 'running' AND attempted_at < '{run.recovery_from.isoformat()}'"
    if run.wait_for(lambda: run.count(held) == 0, 60, "the refused outcomes written"):
        run.recovery_measured = time.monotonic() - healed


Scenario = Callable[[Run, Timing, random.Random], None]
SCENARIOS: dict[str, Scenario] = {
    "half_open": half_open,
    "cut": cut,
    "stall": stall,
    "outage": outage,
    "restart": restart,
    "kill": kill,
    "refused_completions": refused_completions,
}


def settings_for(scenario: str, base: Settings) -> Settings:
    """Kills need a short rescue window (their jobs wait for it); other scenarios a long one,
    so that a job is never rescued from a worker that is merely cut off for a while."""
    if scenario == "kill":
        return Settings(**{**base.__dict__, "rescue_after": 2.0, "job_timeout": 1.0})
    return base


def run_scenario(
    cluster: Cluster, scenario: str, *, base: Settings | None = None, timing: Timing | None = None, seed: int = 0
) -> tuple[Outcome, str]:
    """Run one scenario; returns its outcome and the workers' logs."""
    rng = random.Random(seed)
    with Run(cluster, scenario, settings_for(scenario, base or Settings())) as run:
        run.warm_up()
        SCENARIOS[scenario](run, timing or Timing(), rng)
        # Keep feeding a little so recovery is measured on fresh work.
        run.wait_for(lambda: run.completed() >= run.outcome.jobs * 0.5, 60, "work after the fault")
        run.wait_for_more_work()
        outcome = run.finish()
        return outcome, run.logs()


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    started = Cluster().start()
    try:
        yield started
    finally:
        started.destroy()
