"""``riverboat migrate``: apply, revert, list and verify River's schema (spec/01-schema.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from riverboat._conninfo import describe
from riverboat.cli._admin_common import connection_options
from riverboat.errors import RiverboatError, SchemaNotMigratedError
from riverboat.migrate import MAIN_LINE, MigrationStep, Migrator, known_lines, migration_sql

F = TypeVar("F", bound=Callable[..., Any])


def _line_option(default: str | None, help_text: str) -> Callable[[F], F]:
    return click.option("--line", default=default, show_default=default is not None, help=help_text)


def _target_option(fn: F) -> F:
    return click.option("--target-version", type=int, default=None, help="Version to stop at.")(fn)


def _echo_steps(steps: list[MigrationStep], verb: str, nothing: str) -> None:
    for step in steps:
        click.echo(f"{verb} {step.line} {step.version:03d} {step.name}")
    if not steps:
        click.echo(nothing)


@click.group("migrate")
def migrate() -> None:
    """Apply, revert, list and verify River's schema and riverboat's additions."""


@migrate.command()
@connection_options
@_line_option(None, "Only this migration line (default: every line, main first).")
@_target_option
def up(database_url: str, schema: str | None, line: str | None, target_version: int | None) -> None:
    """Apply unapplied versions, each in its own transaction."""
    migrator = Migrator(database_url, schema)
    if target_version is not None and line is None:
        line = MAIN_LINE
    steps: list[MigrationStep] = []
    for name in known_lines() if line is None else [line]:
        steps += migrator.up(line=name, target_version=target_version)
    _echo_steps(steps, "applied", "nothing to apply: up to date")


@migrate.command()
@connection_options
@_line_option(MAIN_LINE, "Migration line to revert.")
@click.option(
    "--target-version", type=int, default=None,
    help="Revert every version above this one (0: all). Default: only the newest.",
)  # fmt: skip
@click.option("--yes", is_flag=True, help="Do not ask before reverting every version (--target-version 0).")
def down(database_url: str, schema: str | None, line: str, target_version: int | None, yes: bool) -> None:
    """Revert applied versions, newest first, each in its own transaction."""
    if target_version == 0 and not yes:
        _confirm_revert_all(database_url, line)
    steps = Migrator(database_url, schema).down(line=line, target_version=target_version)
    _echo_steps(steps, "reverted", "nothing to revert")


def _confirm_revert_all(database_url: str, line: str) -> None:
    losing = " River's tables and every job in them will be dropped." if line == MAIN_LINE else ""
    question = f"Revert every version of line {line!r} on {describe(database_url)}?{losing}"
    try:
        confirmed = click.confirm(question, err=True)
    except click.Abort:
        # No answer (no terminal, or end of input): end the question's line first.
        click.echo(err=True)
        confirmed = False
    if not confirmed:
        raise RiverboatError("nothing reverted: not confirmed (--yes reverts without asking)")


@migrate.command("list")
@connection_options
@_line_option(None, "Only this migration line (default: every line).")
def list_(database_url: str, schema: str | None, line: str | None) -> None:
    """List every version of each line and whether it is applied."""
    migrator = Migrator(database_url, schema)
    for name in known_lines() if line is None else [line]:
        for state in migrator.list(name):
            when = state.applied_at.isoformat() if state.applied_at is not None else "not applied"
            label = state.name if state.name is not None else "(unknown to this riverboat)"
            click.echo(f"{state.line} {state.version:03d} {label}  {when}")


@migrate.command()
@connection_options
@_line_option(None, "Only this line (and main); objects it does not define are not reported.")
def verify(database_url: str, schema: str | None, line: str | None) -> None:
    """Compare the live schema with what its applied versions define, and check that no
    version is missing; exit 1 on any difference or missing version."""
    migrator = Migrator(database_url, schema)
    differences = migrator.verify(line)
    for difference in differences:
        click.echo(difference)
    missing = migrator.unapplied(line)
    if missing:
        raise SchemaNotMigratedError(describe(database_url), missing)
    if differences:
        click.echo(f"riverboat: {len(differences)} difference(s) from the migrations", err=True)
        sys.exit(1)
    click.echo("schema matches the migrations")


@migrate.command("sql")
@click.option("--version", "version", type=int, required=True, help="Version whose SQL to print.")
@click.option("--up", "direction", flag_value="up", help="The version's up SQL.")
@click.option("--down", "direction", flag_value="down", help="The version's down SQL.")
@_line_option(MAIN_LINE, "Migration line.")
@click.option("--schema", default=None, help="Schema to qualify names with (default: unqualified).")
def sql_(version: int, direction: str | None, line: str, schema: str | None) -> None:
    """Print one version's SQL for other migration tools. It does not record the version in
    river_migration: insert (line, version) there yourself to let River and riverboat see it."""
    if direction not in ("up", "down"):
        raise click.UsageError("give --up or --down")
    click.echo(migration_sql(line, version, "up" if direction == "up" else "down", schema), nl=False)
