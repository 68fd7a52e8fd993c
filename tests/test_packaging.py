"""The package stands alone: ``python -m build`` makes an sdist from ``python/`` (carrying
the repository's ``schema/``) and a wheel from that sdist, both holding exact copies of the
one canonical ``schema/``; the wheel, installed in a fresh virtualenv with no checkout,
migrates a database, inserts a job and works it."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import psycopg
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema"


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    # The sdist first, then the wheel from the unpacked sdist (the build frontend's default);
    # no isolation: the pinned hatchling of this environment builds it.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT / "python")],
        check=True,
        capture_output=True,
    )
    [sdist] = out.glob("riverboat-*.tar.gz")
    [wheel] = out.glob("riverboat-*.whl")
    return Built(sdist, wheel)


def schema_files() -> dict[str, bytes]:
    return {str(p.relative_to(SCHEMA)): p.read_bytes() for p in SCHEMA.rglob("*") if p.is_file()}


def test_sdist_carries_schema_license_and_readme(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        root = sdist.getnames()[0].split("/")[0]

        def read(name: str) -> bytes:
            member = sdist.extractfile(f"{root}/{name}")
            assert member is not None, name
            return member.read()

        assert {name: read(f"schema/{name}") for name in schema_files()} == schema_files()
        assert read("LICENSE") == (ROOT / "python" / "LICENSE").read_bytes()
        assert read("README.md") == (ROOT / "python" / "README.md").read_bytes()


def test_wheel_holds_queries_exact_schema_copy_and_metadata(built: Built) -> None:
    wheel = zipfile.ZipFile(built.wheel)
    names = set(wheel.namelist())
    queries = {f"riverboat/queries/{p.name}" for p in (ROOT / "python/src/riverboat/queries").glob("*.sql")}
    assert queries - names == set()
    assert "riverboat/py.typed" in names
    assert {name: wheel.read(f"riverboat/_schema/{name}") for name in schema_files()} == schema_files()
    assert {n for n in names if n.startswith("riverboat/_schema/")} == {
        f"riverboat/_schema/{n}" for n in schema_files()
    }
    info = Parser().parsestr(wheel.read("riverboat-0.1.0.dist-info/METADATA").decode())
    assert info["Requires-Python"] == ">=3.11"
    assert info["License-Expression"] == "MPL-2.0"
    assert wheel.read("riverboat-0.1.0.dist-info/licenses/LICENSE").startswith(b"Mozilla Public License Version 2.0")
    assert "Programming Language :: Python :: 3.11" in info.get_all("Classifier", [])
    assert info.get_all("Project-URL")


def test_package_readme_links_are_absolute() -> None:
    """The README is the package's page on an index, where relative links lead nowhere."""
    base = tomllib.loads((ROOT / "python/pyproject.toml").read_text())["project"]["urls"]["Source"]
    text = (ROOT / "python/README.md").read_text()
    links = [part.split(")")[0] for part in text.split("](")[1:]]
    assert links, "the README links to nothing"
    assert [link for link in links if not link.startswith((f"{base}/", "https://"))] == []


def test_an_older_python_is_told_what_it_needs() -> None:
    """pip refuses the wheel on an older Python (Requires-Python, checked above); an install
    forced or copied there fails at import with a message, not an obscure error."""
    pretend = "import sys; sys.version_info = (3, 10, 13, 'final', 0); sys.version = '3.10.13'; import riverboat"
    result = subprocess.run([sys.executable, "-c", pretend], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "ImportError: riverboat needs Python 3.11 or newer; this is Python 3.10.13"


def _installed_requirements(requirements: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions ``requirements`` need, with their extras, recursively."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = dist = metadata.distribution(requirement.name)
        extras = requirement.extras or {""}
        for text in dist.requires or []:
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(needed)
    return list(found.values())


def _repack(dist: metadata.Distribution, out: Path) -> None:
    """Write ``dist``, as installed here, back into a wheel: its files under site-packages,
    its metadata, and a fresh RECORD (scripts are regenerated from entry points)."""
    tags = [line.split(": ", 1)[1] for line in (dist.read_text("WHEEL") or "").splitlines() if line.startswith("Tag:")]
    name = dist.metadata["Name"].replace("-", "_")
    info_dir = f"{name}-{dist.version}.dist-info"
    skipped = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    record = []
    with zipfile.ZipFile(out / f"{name}-{dist.version}-{tags[0]}.whl", "w") as wheel:
        for file in dist.files or []:
            path = str(file)
            if path.startswith("..") or "__pycache__" in path or file.name in skipped:
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            if path.split("/", maxsplit=1)[0].endswith(".dist-info"):
                path = f"{info_dir}/{file.name}"
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{info_dir}/RECORD,,")
        wheel.writestr(f"{info_dir}/RECORD", "\n".join(record) + "\n")


WORK_SCRIPT = """
import asyncio, os, sys
from dataclasses import dataclass
from typing import ClassVar

import riverboat
from riverboat import AsyncClient, QueueConfig, Worker, Workers, WorkJob

assert riverboat.__file__.startswith(sys.prefix), riverboat.__file__


@dataclass
class Ping:
    kind: ClassVar[str] = "ping"
    n: int


worked = asyncio.Event()


class PingWorker(Worker[Ping]):
    kind = "ping"
    args_type = Ping

    async def work(self, job: WorkJob[Ping]) -> None:
        worked.set()


async def main() -> None:
    url = os.environ["DATABASE_URL"]
    queues = {"default": QueueConfig(max_workers=1)}
    async with AsyncClient(url, queues=queues, workers=Workers(PingWorker())) as client:
        await client.start()
        result = await client.insert(Ping(n=1))
        await asyncio.wait_for(worked.wait(), 60)
    print("worked job", result.job.id, "with riverboat", riverboat.__version__)


asyncio.run(main())
"""


def test_wheel_installs_and_works_without_a_checkout(built: Built, bare_db_url: str, tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    requirements = [Requirement(text) for text in metadata.requires("riverboat") or [] if "extra ==" not in text]
    for dist in _installed_requirements(requirements):
        _repack(dist, wheelhouse)
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    elsewhere = tmp_path / "app"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["DATABASE_URL"] = bare_db_url

    def run(*args: str) -> str:
        result = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    python = str(fresh / "bin" / "python")
    run(python, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheelhouse), str(built.wheel))
    assert "applied main 008 job_id_autoincrement" in run(
        str(fresh / "bin" / "riverboat"), "migrate", "up", "--database-url", bare_db_url
    )
    (elsewhere / "work.py").write_text(WORK_SCRIPT)
    assert run(python, "work.py").startswith("worked job 1 with riverboat 0.1.0")
    with psycopg.connect(bare_db_url, autocommit=True) as db:
        wait_until(lambda: db.execute("SELECT state FROM river_job").fetchall() == [("completed",)], what="completed")
