"""``module:attr`` targets of the commands that load the user's code (``riverboat work``,
``riverboat contract export``): imported the same way, from the current directory first."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from riverboat.errors import ValidationError


def load_target(spec: str) -> Any:
    """The object ``spec`` names: ``module:attr`` (``attr`` may be dotted), with the current
    directory importable as it is for ``python -m``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValidationError("target", "format", "must be module:attr", spec)
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValidationError("target", "choice", f"module {module_name!r} cannot be imported ({exc})", spec) from None
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise ValidationError("target", "choice", f"{module_name} has no attribute {attr}", spec)
        value = getattr(value, part)
    return value
