"""``riverboat dev-db``: a private PostgreSQL cluster for development."""

from __future__ import annotations

from pathlib import Path

import click

from riverboat.devdb import DevDatabase
from riverboat.errors import DevDatabaseError

DEFAULT_DATA_DIR = ".riverboat/dev-db"

_data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Directory that holds the cluster.",
)


@click.group("dev-db")
def dev_db() -> None:
    """Start, stop, locate and remove the private development database."""


@dev_db.command()
@_data_dir_option
def start(data_dir: Path) -> None:
    """Start the cluster (creating it on first use) and print its URL."""
    click.echo(DevDatabase(data_dir).start())


@dev_db.command()
@_data_dir_option
def stop(data_dir: Path) -> None:
    """Stop the cluster; its data stays."""
    db = DevDatabase(data_dir)
    stopped = db.stop()
    click.echo(
        f"stopped the development database in {db.data_dir}; its data stays"
        if stopped
        else f"no development database is running in {db.data_dir}"
    )


@dev_db.command()
@_data_dir_option
def destroy(data_dir: Path) -> None:
    """Stop the cluster and delete it with its data."""
    db = DevDatabase(data_dir)
    removed = db.destroy()
    click.echo(
        f"removed the development database in {db.data_dir}" if removed else f"no development database in {db.data_dir}"
    )


@dev_db.command()
@_data_dir_option
def status(data_dir: Path) -> None:
    """Say whether the cluster runs, and where."""
    state = DevDatabase(data_dir).status()
    click.echo(f"running {state.url}" if state.running else f"stopped ({state.data_dir})")


@dev_db.command()
@_data_dir_option
def url(data_dir: Path) -> None:
    """Print the URL of the running cluster; exit 1 if none runs."""
    state = DevDatabase(data_dir).status()
    if state.url is None:
        raise DevDatabaseError(f"no development database is running in {state.data_dir} (riverboat dev-db start)")
    click.echo(state.url)
