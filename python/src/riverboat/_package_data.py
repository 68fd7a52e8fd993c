"""Where the package's data files are: River's migrations and the JSON Schemas.

A built wheel carries the repository's ``schema/`` as ``riverboat/_schema`` (copied at
build time by ``python/hatch_build.py``); an editable install from a checkout reads the
checkout's ``schema/`` itself, so the repository keeps one copy.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


@cache
def schema_files() -> Traversable:
    """The ``schema/`` directory: ``migrations/<line>/`` and ``json/``."""
    packaged = resources.files("riverboat") / "_schema"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "schema"
