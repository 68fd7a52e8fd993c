"""Periodic jobs and the leader-only queue maintainer (spec/11-maintenance.md#periodic-jobs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riverboat._cron import CronError, IntervalSchedule
from riverboat._leader import Elector, ElectorConfig
from riverboat._maintenance.job_scheduler import JobScheduler, JobSchedulerConfig
from riverboat._maintenance.periodic_job_enqueuer import PeriodicJobEnqueuer
from riverboat._maintenance.queue_maintainer import QueueMaintainer, standard_services
from riverboat._service import connect_each_time
from riverboat.errors import ValidationError
from riverboat.periodic import PeriodicInsert, PeriodicJob, validate_periodic_jobs
from tests import maintenance_support
from tests.helpers import await_until

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

START = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[PeriodicInsert]] = []

    async def __call__(self, inserts):
        self.batches.append(list(inserts))

    @property
    def args(self) -> list[object]:
        return [i.args for batch in self.batches for i in batch]


def enqueuer(jobs, clock, recorder) -> PeriodicJobEnqueuer:
    return PeriodicJobEnqueuer(jobs=jobs, insert_many=recorder, clock=clock, stagger=False)


async def test_inserts_when_the_schedule_comes_round_with_periodic_metadata():
    clock, recorder = Clock(START), Recorder()
    job = PeriodicJob("* * * * *", lambda: ({"n": 1}, None), id="every_minute")
    service = enqueuer([job], clock, recorder)
    first = await service.run_once()
    assert first.inserted == 0
    assert first.next_run_at == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    clock.now = datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC)
    assert (await service.run_once()).inserted == 1
    (insert,) = recorder.batches[0]
    assert insert.args == {"n": 1}
    assert insert.metadata == {"periodic": True, "river:periodic_job_id": "every_minute"}


async def test_without_id_only_periodic_flag():
    job = PeriodicJob(timedelta(minutes=5), lambda: ("a", "o"))
    assert job.metadata() == {"periodic": True}


async def test_run_on_start_inserts_immediately():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob("@hourly", lambda: ("x", None), run_on_start=True)], clock, recorder)
    assert (await service.run_once()).inserted == 1
    assert (await service.run_once()).inserted == 0


async def test_runs_missed_without_a_leader_are_not_backfilled():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob(timedelta(minutes=1), lambda: ("x", None))], clock, recorder)
    await service.run_once()
    service.reset()  # leadership lost (stop() does this): the next term starts afresh
    clock.now = START + timedelta(hours=3)
    result = await service.run_once()
    assert result.inserted == 0
    assert result.next_run_at == START + timedelta(hours=3, minutes=1)


async def test_inserted_with_the_planned_time_and_next_run_from_it():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob(timedelta(minutes=1), lambda: ("x", None))], clock, recorder)
    await service.run_once()
    clock.now = START + timedelta(minutes=1, seconds=2)
    result = await service.run_once()
    assert result.inserted == 1
    assert recorder.batches[0][0].scheduled_at == START + timedelta(minutes=1)
    assert result.next_run_at == START + timedelta(minutes=2)


async def test_a_run_due_within_the_margin_is_inserted_now():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob(timedelta(minutes=1), lambda: ("x", None))], clock, recorder)
    await service.run_once()
    clock.now = START + timedelta(minutes=1) - timedelta(milliseconds=50)
    assert (await service.run_once()).inserted == 1


async def test_run_on_start_uses_now_as_scheduled_at():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob("@hourly", lambda: ("x", None), run_on_start=True)], clock, recorder)
    await service.run_once()
    assert recorder.batches[0][0].scheduled_at == START


async def test_constructor_returning_none_or_failing_skips_the_run(caplog):
    clock, recorder = Clock(START), Recorder()

    def broken():
        raise RuntimeError("boom")

    jobs = [
        PeriodicJob(timedelta(seconds=1), lambda: None, run_on_start=True),
        PeriodicJob(timedelta(seconds=1), broken, run_on_start=True),
        PeriodicJob(timedelta(seconds=1), lambda: ("ok", None), run_on_start=True),
    ]
    result = await enqueuer(jobs, clock, recorder).run_once()
    assert result.inserted == 1
    assert recorder.args == ["ok"]
    assert "boom" in caplog.text


async def test_new_leadership_term_starts_fresh():
    clock, recorder = Clock(START), Recorder()
    service = enqueuer([PeriodicJob("@daily", lambda: ("x", None), run_on_start=True)], clock, recorder)
    await service.run_once()
    service.reset()
    assert (await service.run_once()).inserted == 1


def test_invalid_schedules_fail_at_declaration():
    with pytest.raises(CronError, match="expected exactly 5 fields"):
        PeriodicJob("* * *", lambda: None)
    with pytest.raises(CronError, match="positive"):
        PeriodicJob(timedelta(seconds=-1), lambda: None)
    with pytest.raises(CronError, match="unknown unit"):
        PeriodicJob("@every 5x", lambda: None)
    with pytest.raises(ValidationError, match="constructor"):
        PeriodicJob("@hourly", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="id"):
        PeriodicJob("@hourly", lambda: None, id="")


def test_schedule_objects_are_accepted():
    job = PeriodicJob(IntervalSchedule(timedelta(seconds=2)), lambda: None)
    assert job.parsed_schedule.next(START) == START + timedelta(seconds=2)


def test_client_outside_election_refuses_periodic_jobs():
    jobs = [PeriodicJob("@hourly", lambda: None)]
    with pytest.raises(ValidationError, match="leader election"):
        validate_periodic_jobs(jobs, takes_part_in_election=False)
    assert validate_periodic_jobs([], takes_part_in_election=False) == []
    assert validate_periodic_jobs(jobs, takes_part_in_election=True) == jobs
    with pytest.raises(ValidationError, match="unique"):
        validate_periodic_jobs(
            [PeriodicJob("@hourly", lambda: None, id="a"), PeriodicJob("@daily", lambda: None, id="a")],
            takes_part_in_election=True,
        )


async def test_the_loop_inserts_on_schedule_while_running():
    recorder = Recorder()
    service = PeriodicJobEnqueuer(
        jobs=[PeriodicJob("@every 1s", lambda: ("tick", None))], insert_many=recorder, stagger=False
    )
    await service.start()
    await await_until(lambda: _count_at_least(recorder, 1), timeout=10)
    await service.stop()


async def _count_at_least(recorder: Recorder, n: int) -> bool:
    return len(recorder.args) >= n


async def test_maintenance_runs_only_while_leader(river_url, aconn):
    fast = ElectorConfig(
        elect_interval=timedelta(milliseconds=100),
        elect_interval_jitter=timedelta(0),
        ttl_padding=timedelta(milliseconds=900),
    )
    elector = Elector(connect=connect_each_time(river_url), client_id="py-maint", config=fast, stagger=False)
    recorder = Recorder()
    periodic = PeriodicJobEnqueuer(
        jobs=[PeriodicJob("@hourly", lambda: ("on-start", None), run_on_start=True)],
        insert_many=recorder,
        stagger=False,
    )
    scheduler = JobScheduler(connect=connect_each_time(river_url), config=JobSchedulerConfig(), stagger=False)
    maintainer = QueueMaintainer(elector=elector, services=[periodic, scheduler])
    await maintenance_support.record_leader_bids(aconn)
    await aconn.execute(
        "INSERT INTO river_leader (leader_id, elected_at, expires_at)"
        " VALUES ('other', now(), now() + interval '1 hour')"
    )
    await elector.start()
    # A second bid means the first was lost and fully handled: a winner would renew, not bid again.
    await await_until(lambda: _bids_made(aconn, 2), what="two bids by py-maint, lost to 'other'")
    assert not elector.is_leader
    assert not maintainer.running
    assert recorder.args == []
    await aconn.execute("DELETE FROM river_leader")
    await await_until(lambda: _is_running(maintainer), what="services started on election")
    await await_until(lambda: _count_at_least(recorder, 1))
    await elector.stop()
    assert not maintainer.running
    await maintainer.stop()


async def _bids_made(conn, count: int) -> bool:
    return await maintenance_support.leader_bids(conn, "py-maint") >= count


async def _is_running(maintainer: QueueMaintainer) -> bool:
    return maintainer.running


def test_standard_services_are_rivers_set():
    connect = connect_each_time("postgresql://unused")
    services = standard_services(connect=connect, schema=None, next_retry=lambda job: START, is_known_kind=None)
    assert [s.name for s in services] == [
        "riverboat-job-scheduler",
        "riverboat-job-rescuer",
        "riverboat-job-cleaner",
        "riverboat-queue-cleaner",
    ]
    assert [s.interval for s in services] == [
        timedelta(seconds=5),
        timedelta(seconds=30),
        timedelta(seconds=30),
        timedelta(hours=1),
    ]
    with_periodic = standard_services(
        connect=connect,
        schema=None,
        next_retry=lambda job: START,
        is_known_kind=None,
        periodic_jobs=[PeriodicJob("@hourly", lambda: None)],
        insert_many=Recorder(),
    )
    assert with_periodic[-1].name == "riverboat-periodic-job-enqueuer"
    with pytest.raises(ValidationError, match="insert_many"):
        standard_services(
            connect=connect,
            schema=None,
            next_retry=lambda job: START,
            is_known_kind=None,
            periodic_jobs=[PeriodicJob("@hourly", lambda: None)],
        )
