"""``riverboat queues``: list, inspect, pause, resume and update queues (spec/12-queues-and-admin.md#cli)."""

from __future__ import annotations

import click

from riverboat._sync import admin
from riverboat.admin import QUEUE_LIST_LIMIT_DEFAULT, Queue
from riverboat.cli._admin_common import (
    connect,
    connection_options,
    echo_json,
    echo_record,
    echo_table,
    json_option,
    parse_json_object,
)

COLUMNS = ("name", "paused_at", "created_at", "updated_at", "metadata")


@click.group("queues")
def queues() -> None:
    """Inspect, pause, resume and update queues."""


def _echo_queue(queue: Queue, as_json: bool) -> None:
    if as_json:
        echo_json(queue)
    else:
        echo_record([(name, getattr(queue, name)) for name in COLUMNS])


@queues.command("list")
@connection_options
@json_option
@click.option("--limit", type=int, default=QUEUE_LIST_LIMIT_DEFAULT, show_default=True)
def list_queues(database_url: str, schema: str | None, as_json: bool, limit: int) -> None:
    """List registered queues."""
    with connect(database_url) as conn:
        found = admin.queue_list(conn, schema, limit)
    if as_json:
        echo_json(found)
    else:
        echo_table(COLUMNS, [[getattr(q, c) for c in COLUMNS] for q in found])


def _pause_or_resume(action: str, database_url: str, schema: str | None, as_json: bool, name: str) -> None:
    with connect(database_url) as conn:
        (admin.queue_pause if action == "pause" else admin.queue_resume)(conn, schema, name)
        shown = admin.queue_list(conn, schema) if name == "*" else [admin.queue_get(conn, schema, name)]
    if as_json:
        echo_json(shown)
    else:
        click.echo(f"{action}d {'every queue' if name == '*' else name}")


@queues.command("pause")
@connection_options
@json_option
@click.argument("name")
def pause_queue(database_url: str, schema: str | None, as_json: bool, name: str) -> None:
    """Pause a queue ('*' pauses every queue); workers stop fetching from it."""
    _pause_or_resume("pause", database_url, schema, as_json, name)


@queues.command("resume")
@connection_options
@json_option
@click.argument("name")
def resume_queue(database_url: str, schema: str | None, as_json: bool, name: str) -> None:
    """Resume a paused queue ('*' resumes every queue)."""
    _pause_or_resume("resume", database_url, schema, as_json, name)


@queues.command("get")
@connection_options
@json_option
@click.argument("name")
def get_queue(database_url: str, schema: str | None, as_json: bool, name: str) -> None:
    """Show one queue."""
    with connect(database_url) as conn:
        _echo_queue(admin.queue_get(conn, schema, name), as_json)


@queues.command("update")
@connection_options
@json_option
@click.argument("name")
@click.option("--metadata", required=True, help="JSON object that replaces the queue's metadata.")
def update_queue(database_url: str, schema: str | None, as_json: bool, name: str, metadata: str) -> None:
    """Replace a queue's metadata (River UI keeps a queue's concurrency settings there)."""
    with connect(database_url) as conn:
        _echo_queue(admin.queue_update(conn, schema, name, parse_json_object("metadata", metadata)), as_json)
