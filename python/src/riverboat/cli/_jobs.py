"""``riverboat jobs``: list, count, inspect, cancel, retry and delete jobs (spec/12-queues-and-admin.md#cli)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click
import psycopg

from riverboat._sync import admin
from riverboat.admin import JOB_LIST_LIMIT_DEFAULT, ORDER_FIELDS, JobListParams
from riverboat.cli._admin_common import (
    connect,
    connection_options,
    echo_json,
    echo_record,
    echo_table,
    json_option,
    parse_json_object,
)
from riverboat.job import Job

LIST_COLUMNS = ("id", "state", "kind", "queue", "priority", "attempt", "max_attempts", "scheduled_at", "finalized_at")
DETAIL_FIELDS = (
    "id", "state", "kind", "queue", "priority", "attempt", "max_attempts", "created_at", "scheduled_at",
    "attempted_at", "finalized_at", "attempted_by", "tags", "args", "metadata", "errors",
)  # fmt: skip


def _echo_job(job: Job, as_json: bool) -> None:
    if as_json:
        echo_json(job)
    else:
        echo_record([(name, getattr(job, name)) for name in DETAIL_FIELDS])


@click.group("jobs")
def jobs() -> None:
    """Inspect and steer jobs."""


@jobs.command("list")
@connection_options
@json_option
@click.option("--id", "ids", multiple=True, type=int, help="Job ID (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Job kind (repeatable).")
@click.option("--queue", "queues", multiple=True, help="Queue (repeatable).")
@click.option("--state", "states", multiple=True, help="Job state (repeatable).")
@click.option("--priority", "priorities", multiple=True, type=int, help="Priority 1-4 (repeatable).")
@click.option("--tag", "tags_any", multiple=True, help="Has any of these tags (repeatable).")
@click.option("--all-tags", "tags_all", multiple=True, help="Has all of these tags (repeatable).")
@click.option("--metadata", default=None, help="JSON object the job's metadata must contain.")
@click.option("--order-by", type=click.Choice(ORDER_FIELDS), default="id", show_default=True)
@click.option("--desc", "descending", is_flag=True, help="Newest/highest first.")
@click.option("--limit", type=int, default=JOB_LIST_LIMIT_DEFAULT, show_default=True)
@click.option("--cursor", default=None, help="Continue after the page that printed this cursor.")
def list_jobs(
    database_url: str,
    schema: str | None,
    as_json: bool,
    metadata: str | None,
    **filters: Any,
) -> None:
    """List jobs, filtered and ordered; prints a cursor when more pages follow."""
    parsed_metadata = None if metadata is None else parse_json_object("metadata", metadata)
    for key in ("ids", "kinds", "queues", "states", "priorities", "tags_any", "tags_all"):
        filters[key] = list(filters[key]) or None
    params = JobListParams(metadata=parsed_metadata, **filters)
    with connect(database_url) as conn:
        page = admin.job_list(conn, schema, params)
    if as_json:
        echo_json({"jobs": page.jobs, "next_cursor": page.next_cursor})
        return
    echo_table(LIST_COLUMNS, [[getattr(job, c) for c in LIST_COLUMNS] for job in page.jobs])
    if page.next_cursor is not None:
        click.echo(f"next page: --cursor {page.next_cursor}")


@jobs.command("count")
@connection_options
@json_option
@click.option("--kind", "kinds", multiple=True, help="Job kind (repeatable).")
@click.option("--queue", "queues", multiple=True, help="Queue (repeatable).")
def count_jobs(
    database_url: str, schema: str | None, as_json: bool, kinds: tuple[str, ...], queues: tuple[str, ...]
) -> None:
    """Count jobs in each state (exact; on a very large table this takes a while)."""
    with connect(database_url) as conn:
        counts = admin.job_count_by_state(conn, schema, kinds=list(kinds) or None, queues=list(queues) or None)
    if as_json:
        echo_json({state.value: count for state, count in counts.items()})
    else:
        echo_table(("state", "count"), [[state.value, count] for state, count in counts.items()])


@jobs.command("get")
@connection_options
@json_option
@click.argument("job_id", type=int)
def get_job(database_url: str, schema: str | None, as_json: bool, job_id: int) -> None:
    """Show one job."""
    with connect(database_url) as conn:
        _echo_job(admin.job_get(conn, schema, job_id), as_json)


JobOperation = Callable[[psycopg.Connection[Any], str | None, int], Job]


def _each(operation: JobOperation, database_url: str, schema: str | None, as_json: bool, ids: Sequence[int]) -> None:
    """Apply ``operation`` to every job in one transaction (as River UI does): all or none."""
    with connect(database_url) as conn, conn.transaction():
        changed = [operation(conn, schema, job_id) for job_id in ids]
    if len(changed) == 1:
        _echo_job(changed[0], as_json)
    elif as_json:
        echo_json(changed)
    else:
        echo_table(LIST_COLUMNS, [[getattr(job, c) for c in LIST_COLUMNS] for job in changed])


job_ids = click.argument("job_ids", nargs=-1, required=True, type=int)


@jobs.command("cancel")
@connection_options
@json_option
@job_ids
def cancel_jobs(database_url: str, schema: str | None, as_json: bool, job_ids: tuple[int, ...]) -> None:
    """Cancel jobs (a running job is asked to stop; a finished one is left as it is)."""
    _each(admin.job_cancel, database_url, schema, as_json, job_ids)


@jobs.command("retry")
@connection_options
@json_option
@job_ids
def retry_jobs(database_url: str, schema: str | None, as_json: bool, job_ids: tuple[int, ...]) -> None:
    """Make jobs available to run again now."""
    _each(admin.job_retry, database_url, schema, as_json, job_ids)


@jobs.command("delete")
@connection_options
@json_option
@job_ids
def delete_jobs(database_url: str, schema: str | None, as_json: bool, job_ids: tuple[int, ...]) -> None:
    """Delete jobs that are not running."""
    _each(admin.job_delete, database_url, schema, as_json, job_ids)
