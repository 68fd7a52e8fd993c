"""The wheel carries what the package reads at run time: every query, the migrations and
JSON Schemas (through the ``_schema`` link to ``schema/``) and the typing marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_queries_migrations_and_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            "./python",
        ],
        cwd=ROOT,
        check=True,
    )
    [wheel] = tmp_path.glob("riverboat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"riverboat/queries/{p.name}" for p in (ROOT / "python/src/riverboat/queries").glob("*.sql")} | {
        f"riverboat/_schema/{p.relative_to(ROOT / 'schema')}" for p in (ROOT / "schema").rglob("*") if p.is_file()
    }
    assert expected - names == set()
    assert "riverboat/py.typed" in names
