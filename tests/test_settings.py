"""A client's settings are validated once, at construction, with River's rules (issue 19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from riverboat import AsyncClient, Client, QueueConfig, Worker, Workers, WorkJob
from riverboat._rules import validate_queue_name
from riverboat.errors import ValidationError

URL = "postgresql://nowhere.invalid/x"  # construction opens nothing


@dataclass
class Ping:
    kind: ClassVar[str] = "ping"


class PingWorker(Worker[Ping]):
    kind = "ping"

    async def work(self, job: WorkJob[Ping]) -> None:
        return None


def working(**options: Any) -> AsyncClient:
    return AsyncClient(URL, queues={"default": QueueConfig()}, workers=Workers(PingWorker()), **options)


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        ({"client_id": ""}, "client_id", "length"),
        ({"client_id": "x" * 101}, "client_id", "length"),
        ({"client_id": 7}, "client_id", "type"),
        ({"job_timeout": "abc"}, "job_timeout", "range"),
        ({"job_timeout": timedelta(0)}, "job_timeout", "range"),
        ({"soft_stop_timeout": "x"}, "soft_stop_timeout", "type"),
        ({"soft_stop_timeout": timedelta(seconds=-1)}, "soft_stop_timeout", "range"),
        ({"poll_only": "yes"}, "poll_only", "type"),
        ({"leader_election": 1}, "leader_election", "type"),
        ({"rescue_stuck_jobs_after": timedelta(0)}, "rescue_stuck_jobs_after", "range"),
        ({"completed_job_retention": timedelta(seconds=-5)}, "completed_job_retention", "range"),
        ({"retry_policy": object()}, "retry_policy", "type"),
        ({"schema": "no-dashes"}, "schema", "pattern"),
        ({"queue": "Default"}, "queue", "pattern"),
        ({"priority": 5}, "priority", "range"),
    ],
)
@pytest.mark.parametrize("client_class", [AsyncClient, Client])
def test_an_insert_only_client_refuses_bad_settings_at_construction(
    client_class: type[Any], options: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        client_class(URL, **options)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_rescue_after_may_not_be_shorter_than_the_job_timeout() -> None:
    with pytest.raises(ValidationError) as refused:
        working(job_timeout=timedelta(hours=2), rescue_stuck_jobs_after=timedelta(hours=1))
    assert (refused.value.field, refused.value.rule) == ("rescue_stuck_jobs_after", "conflict")


def test_rescue_after_defaults_like_river() -> None:
    assert working()._settings.work is not None
    assert working()._settings.work.rescue_stuck_jobs_after == timedelta(hours=1)
    long_jobs = working(job_timeout=timedelta(hours=2))._settings.work
    assert long_jobs is not None
    assert long_jobs.rescue_stuck_jobs_after == timedelta(hours=3)
    assert long_jobs.job_timeout == timedelta(hours=2)


@pytest.mark.parametrize("name", ["default\n", "default\r\n", "Default", "a__b", "-a", "a-", "", "a" * 65])
def test_worked_queue_names_follow_the_insert_rule(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        AsyncClient(URL, queues={name: QueueConfig()}, workers=Workers(PingWorker()))
    assert refused.value.field == "queues"
    with pytest.raises(ValidationError):
        validate_queue_name(name)


def test_a_pathological_queue_name_is_refused_without_backtracking() -> None:
    # River's pattern, run by a backtracking engine, takes longer than the test's timeout here.
    with pytest.raises(ValidationError) as refused:
        validate_queue_name("a" * 63 + "!")
    assert refused.value.rule == "pattern"


@pytest.mark.parametrize("name", ["default", "a_b-c|d", "q1", "a" * 64])
def test_good_queue_names_pass(name: str) -> None:
    assert validate_queue_name(name) == name
