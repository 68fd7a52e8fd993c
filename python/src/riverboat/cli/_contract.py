"""``riverboat contract``: export the job-args contract of registered kinds (spec/05-args-contract.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from riverboat.cli._target import load_target
from riverboat.contract import Contract
from riverboat.errors import ValidationError


def load_contract(target: str) -> Contract:
    """The contract named by ``module:attr``: a Contract, or an iterable of args classes."""
    value = load_target(target)
    if isinstance(value, Contract):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return Contract.from_kinds(value)
    raise ValidationError("target", "type", "must name a Contract or a list of args classes", target)


@click.group("contract")
def contract() -> None:
    """The job-args contract."""


@contract.command("export")
@click.argument("target")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout).")
def export(target: str, output: str | None) -> None:
    """Print the contract of TARGET (module:attr naming a Contract or a list of args classes)."""
    text = json.dumps(load_contract(target).to_json(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
