"""Build hook: the package ships the repository's ``schema/`` (River's migrations and the
JSON Schemas) as ``riverboat/_schema``.

The repository keeps one copy of ``schema/`` beside ``python/``; building from a checkout
copies it into the sdist (as ``schema/``) and the wheel, and building a wheel from that
sdist finds it there. An editable install reads the checkout's copy instead
(``riverboat/_package_data.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SchemaHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "riverboat-schema"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        source = next((path for path in (root / "schema", root.parent / "schema") if path.is_dir()), None)
        if source is None:
            raise RuntimeError(f"riverboat's schema/ is neither in {root} (an sdist) nor beside it (a checkout)")
        build_data["force_include"][str(source)] = "schema" if self.target_name == "sdist" else "riverboat/_schema"
