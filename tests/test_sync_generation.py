"""scripts/generate_sync.py: the library's ``_sync`` modules and the ``tests/*_sync.py`` modules
are generated from their ``_async`` source, and ``--check`` fails when one has drifted."""

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASYNC_SOURCE = '"""A test."""\n\n\nasync def test_it(aconn: object) -> None:\n    await aconn.execute("SELECT 1")\n'


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_sync", ROOT / "scripts" / "generate_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What ``--check`` reports about ``root`` (nothing when every twin is current)."""
    capsys.readouterr()
    code = generator.main(["--check", "--root", str(root)])
    problems = capsys.readouterr().err.splitlines()
    assert code == (1 if problems else 0)
    return problems


def test_every_generated_module_matches_its_async_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(ROOT, capsys) == []


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the library's async modules and their twins, and one async test generated."""
    for folder in ("python/src/riverboat/_async", "python/src/riverboat/_sync"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_one_async.py").write_text(ASYNC_SOURCE)
    assert generator.main(["--root", str(tmp_path)]) == 0
    return tmp_path


def test_a_test_twin_is_generated_with_its_names_mapped(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = (checkout / "tests" / "test_one_sync.py").read_text()
    assert twin == (
        "# Generated from test_one_async.py by scripts/generate_sync.py. Do not edit.\n"
        '"""A test."""\n\n\ndef test_it(sconn: object) -> None:\n    sconn.execute("SELECT 1")\n'
    )
    assert _check(checkout, capsys) == []


def test_check_fails_on_a_stale_test_twin(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = checkout / "tests" / "test_one_sync.py"
    twin.write_text(twin.read_text() + "# edited by hand\n")
    assert _check(checkout, capsys) == ["stale or missing: tests/test_one_sync.py; run scripts/generate_sync.py"]


def test_check_fails_on_a_missing_test_twin(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "tests" / "test_one_sync.py").unlink()
    assert _check(checkout, capsys) == ["stale or missing: tests/test_one_sync.py; run scripts/generate_sync.py"]


def test_check_fails_on_a_generated_test_without_a_source(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "tests" / "test_one_async.py").rename(checkout / "tests" / "test_two_async.py")
    assert generator.main(["--root", str(checkout)]) == 1
    assert _check(checkout, capsys) == ["no _async source for: tests/test_one_sync.py"]


def test_check_fails_on_a_stale_library_twin(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "python/src/riverboat/_sync/client.py").write_text("")
    assert _check(checkout, capsys) == [
        "stale or missing: python/src/riverboat/_sync/client.py; run scripts/generate_sync.py"
    ]


def test_a_test_whose_twin_would_use_asyncio_is_refused(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = checkout / "tests" / "test_loop_async.py"
    source.write_text("import asyncio\n\n\nasync def test_it() -> None:\n    await asyncio.sleep(0)\n")
    assert generator.main(["--root", str(checkout)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "tests/test_loop_async.py: its sync twin would still use asyncio (lines [1, 5]); "
        "keep asyncio-only tests in a module not named *_async.py"
    ]
    assert not (checkout / "tests" / "test_loop_sync.py").exists()
