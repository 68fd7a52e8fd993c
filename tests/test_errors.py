"""Every error riverboat raises on purpose lives in ``riverboat.errors`` with a stable code."""

from __future__ import annotations

import inspect

import pytest

import riverboat
from riverboat import errors
from riverboat._rules import validate_priority


def _error_classes() -> list[type[BaseException]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.RiverboatError)]


def test_errors_are_defined_in_the_public_errors_module() -> None:
    for cls in _error_classes():
        assert cls.__module__ == "riverboat.errors", cls
    exported = [getattr(riverboat, n) for n in riverboat.__all__]
    for value in exported:
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert value.__module__ == "riverboat.errors", value


def test_codes_are_short_words() -> None:
    for cls in _error_classes():
        assert cls.code.isidentifier(), cls
        assert cls.code.islower(), cls


def test_validation_errors_carry_field_rule_and_message() -> None:
    with pytest.raises(errors.ValidationError) as raised:
        validate_priority(9)
    error = raised.value
    assert (error.code, error.field, error.rule, error.value) == ("invalid", "priority", "range", 9)
    assert str(error) == "invalid priority (range): must be an integer from 1 (highest) to 4 (got 9)"


def test_an_unknown_rule_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown validation rule code"):
        errors.ValidationError("x", "a sentence is not a code", "message")
