"""The development database: its Python API, its CLI, and the error when no server is installed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from riverboat import devdb
from riverboat.cli import main
from riverboat.devdb import DevDatabase, DevDatabaseError


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: when the tests run as root, the server's own user must reach the directory.
    parent = Path(tempfile.mkdtemp(prefix="riverboat-devdb-test-"))
    os.chmod(parent, 0o755)
    yield parent / "db"
    DevDatabase(parent / "db").destroy()
    parent.rmdir()


def test_api_start_status_stop_restart(data_dir: Path) -> None:
    db = DevDatabase(data_dir)
    assert not db.status().running
    url = db.start()
    assert url == db.url()
    assert db.start() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("riverboat",)
        conn.execute("CREATE TABLE kept (n int)")
        conn.commit()
    status = db.status()
    assert status.running
    assert status.url == url

    db.stop()
    assert not db.status().running
    assert db.status().url is None
    db.stop()

    with psycopg.connect(db.start()) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)


def test_cli_start_url_status_stop(data_dir: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(data_dir)]
    assert runner.invoke(main, ["dev-db", "status", *args]).stdout == f"stopped ({data_dir})\n"

    started = runner.invoke(main, ["dev-db", "start", *args])
    assert started.exit_code == 0
    url = started.stdout.strip()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    assert runner.invoke(main, ["dev-db", "url", *args]).stdout.strip() == url
    assert runner.invoke(main, ["dev-db", "status", *args]).stdout == f"running {url}\n"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    stopped = runner.invoke(main, ["dev-db", "stop", *args])
    assert (stopped.exit_code, stopped.stdout) == (
        0,
        f"stopped the development database in {data_dir}; its data stays\n",
    )
    assert runner.invoke(main, ["dev-db", "status", *args]).stdout.startswith("stopped")
    assert (
        runner.invoke(main, ["dev-db", "stop", *args]).stdout == f"no development database is running in {data_dir}\n"
    )
    not_running = runner.invoke(main, ["dev-db", "url", *args])
    assert (not_running.exit_code, not_running.stdout) == (1, "")
    assert (
        not_running.stderr == f"riverboat: no development database is running in {data_dir} (riverboat dev-db start)\n"
    )

    destroyed = runner.invoke(main, ["dev-db", "destroy", *args])
    assert (destroyed.exit_code, destroyed.stdout) == (0, f"removed the development database in {data_dir}\n")
    assert not data_dir.exists()
    assert runner.invoke(main, ["dev-db", "destroy", *args]).stdout == f"no development database in {data_dir}\n"


def test_url_before_any_start_is_one_line(data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["dev-db", "url", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert result.stderr == f"riverboat: no development database is running in {data_dir} (riverboat dev-db start)\n"


def test_pinned_bindir_without_binaries_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["dev-db", "start", "--data-dir", str(data_dir)], env={devdb.BINDIR_ENV: str(tmp_path)}
    )
    assert result.exit_code == 1
    expected = f"riverboat: no PostgreSQL server binaries (initdb, pg_ctl, postgres) in {tmp_path}"
    assert result.stderr.startswith(expected)
    assert len(result.stderr.splitlines()) == 1


def test_no_binaries_anywhere_says_what_to_install(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(devdb.BINDIR_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(devdb, "VERSIONED_BINDIRS", str(tmp_path / "*" / "bin"))
    with pytest.raises(DevDatabaseError, match=r"no PostgreSQL server binaries found .*`apt-get install postgresql`"):
        devdb.find_server_bindir()
    result = CliRunner().invoke(main, ["dev-db", "start", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "install the server" in result.stderr
    assert len(result.stderr.splitlines()) == 1
