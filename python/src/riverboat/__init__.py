"""riverboat: River's job protocol for Python.

The public API is the names in ``__all__``; modules whose names begin with an
underscore are private.
"""

from importlib.metadata import version as _version

from riverboat.errors import RiverboatError, ValidationError

__version__ = _version("riverboat")

__all__ = [
    "RiverboatError",
    "ValidationError",
    "__version__",
]
