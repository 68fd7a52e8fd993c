"""The ``riverboat`` command. Each subcommand group lives in its own module here and is
registered below; errors that riverboat raises on purpose print one line and exit non-zero."""

from __future__ import annotations

import sys
from typing import Any

import click

from riverboat._logsetup import report_fatal
from riverboat.cli._bench import bench
from riverboat.cli._contract import contract
from riverboat.cli._devdb import dev_db
from riverboat.cli._jobs import jobs
from riverboat.cli._migrate import migrate
from riverboat.cli._queues import queues
from riverboat.cli._work import work
from riverboat.errors import RiverboatError


class _Group(click.Group):
    """Turns riverboat's own errors into one clear line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RiverboatError as exc:
            report_fatal(str(exc))
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="riverboat")
def main() -> None:
    """riverboat: River's job protocol for Python."""


main.add_command(dev_db)
main.add_command(migrate)
main.add_command(jobs)
main.add_command(queues)
main.add_command(work)
main.add_command(contract)
main.add_command(bench)
