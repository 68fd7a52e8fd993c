"""``riverboat queues``: list, pause and resume queues (spec/12-queues-and-admin.md)."""

from __future__ import annotations

import click

from riverboat._sync import admin
from riverboat.admin import QUEUE_LIST_LIMIT_DEFAULT
from riverboat.cli._admin_common import connect, connection_options, echo_json, echo_table, json_option

COLUMNS = ("name", "paused_at", "created_at", "updated_at", "metadata")


@click.group("queues")
def queues() -> None:
    """Inspect, pause and resume queues."""


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
