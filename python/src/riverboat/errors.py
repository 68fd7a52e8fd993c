"""Errors raised by riverboat. Every one names what was wrong and the rule it broke."""

from __future__ import annotations


class RiverboatError(Exception):
    """Base class of every error riverboat raises on purpose."""


class ValidationError(RiverboatError, ValueError):
    """A value broke a rule of the protocol. ``field`` names the value, ``rule`` the rule."""

    def __init__(self, field: str, rule: str, value: object = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        super().__init__(f"{field}: {rule}" + ("" if value is None else f" (got {value!r})"))
