"""``riverboat dev-db``: a private PostgreSQL cluster for development."""

from __future__ import annotations

from pathlib import Path

import click

from riverboat.devdb import DevDatabase

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
    """Start, stop and locate the private development database."""


@dev_db.command()
@_data_dir_option
def start(data_dir: Path) -> None:
    """Start the cluster (creating it on first use) and print its URL."""
    click.echo(DevDatabase(data_dir).start())


@dev_db.command()
@_data_dir_option
def stop(data_dir: Path) -> None:
    """Stop the cluster; its data stays."""
    DevDatabase(data_dir).stop()


@dev_db.command()
@_data_dir_option
def status(data_dir: Path) -> None:
    """Say whether the cluster runs, and where."""
    state = DevDatabase(data_dir).status()
    click.echo(f"running {state.url}" if state.running else f"stopped ({state.data_dir})")


@dev_db.command()
@_data_dir_option
def url(data_dir: Path) -> None:
    """Print the URL of the running cluster."""
    click.echo(DevDatabase(data_dir).url())
