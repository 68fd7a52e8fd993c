"""Setup errors are one clear line: a database that cannot be reached, one that was never
migrated (or only partly), a missing database URL; in the CLI and in exceptions raised to
user code (spec/15-errors.md#codes)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner

from riverboat import AsyncClient, Client, QueueConfig, Worker, Workers, WorkJob
from riverboat.cli import main
from riverboat.errors import DatabaseConnectionError, SchemaNotMigratedError
from riverboat.migrate import Migrator, migrations

NEWEST_MAIN = len(migrations("main"))
UNREACHABLE = "postgresql://app:hunter2@127.0.0.1:1/app"


class Noop(Worker[Any]):
    kind = "noop"

    async def work(self, job: WorkJob[Any]) -> None:
        return None


def _async_client(url: str) -> AsyncClient:
    return AsyncClient(url, queues={"default": QueueConfig()}, workers=Workers(Noop()))


async def test_start_on_an_unreachable_database_names_where_and_why() -> None:
    client = _async_client(UNREACHABLE)
    with pytest.raises(DatabaseConnectionError) as info:
        await client.start()
    await client.close()
    message = str(info.value)
    assert message.startswith("cannot connect to the database at 127.0.0.1:1/app: ")
    assert "refused" in message.lower()
    assert "hunter2" not in message
    assert "\n" not in message
    assert info.value.code == "database_unreachable"


async def test_start_on_a_never_migrated_database_says_to_migrate(bare_db_url: str) -> None:
    client = _async_client(bare_db_url)
    with pytest.raises(SchemaNotMigratedError) as info:
        await client.start()
    await client.close()
    assert info.value.code == "not_migrated"
    assert info.value.missing == {"main": list(range(1, NEWEST_MAIN + 1))}
    assert str(info.value).endswith(
        f"is not migrated (main line versions 001..{NEWEST_MAIN:03d} not applied): run `riverboat migrate up`"
    )


async def test_start_on_a_partly_migrated_database_names_the_missing_versions(bare_db_url: str) -> None:
    Migrator(bare_db_url).up(target_version=5)
    client = _async_client(bare_db_url)
    with pytest.raises(SchemaNotMigratedError, match=rf"main line versions 006..{NEWEST_MAIN:03d} not applied"):
        await client.start()
    await client.close()


def test_sync_run_raises_the_same_error(bare_db_url: str) -> None:
    client = Client(bare_db_url, queues={"default": QueueConfig()}, workers=Workers(Noop()))
    with client, pytest.raises(SchemaNotMigratedError, match="run `riverboat migrate up`"):
        client.run(handle_signals=False)


def _work(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riverboat", "work", "tests.worker_cli_target:make"],
        env={**os.environ, "RIVERBOAT_TEST_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_work_on_an_unreachable_database_is_one_line() -> None:
    result = _work(UNREACHABLE)
    assert result.returncode == 1
    assert result.stderr.startswith("riverboat: cannot connect to the database at 127.0.0.1:1/app: ")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "hunter2" not in result.stderr


def test_work_on_a_never_migrated_database_is_one_line(bare_db_url: str) -> None:
    result = _work(bare_db_url)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("riverboat: the database at ")
    assert result.stderr.rstrip().endswith("not applied): run `riverboat migrate up`")


@pytest.mark.parametrize("command", [["jobs", "list"], ["queues", "list"], ["migrate", "up"], ["migrate", "verify"]])
def test_a_missing_database_url_mentions_database_url(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert result.stderr == "riverboat: no database URL: give --database-url or set DATABASE_URL\n"


def _verify(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["migrate", "verify", "--database-url", url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_verify_on_an_empty_database_fails_naming_every_version(bare_db_url: str) -> None:
    code, out, err = _verify(bare_db_url)
    assert code == 1
    assert out == ""
    assert err.startswith("riverboat: the database at ")
    assert err.endswith(f"(main line versions 001..{NEWEST_MAIN:03d} not applied): run `riverboat migrate up`\n")


def test_verify_on_a_partly_migrated_database_names_the_missing_versions(bare_db_url: str) -> None:
    Migrator(bare_db_url).up(target_version=3)
    code, _, err = _verify(bare_db_url)
    assert code == 1
    assert f"(main line versions 004..{NEWEST_MAIN:03d} not applied)" in err


def test_verify_wants_a_line_named_or_partly_applied_but_not_one_never_applied(bare_db_url: str) -> None:
    Migrator(bare_db_url).up()
    assert _verify(bare_db_url) == (0, "schema matches the migrations\n", "")
    code, _, err = _verify(bare_db_url, "--line", "riverboat")
    assert code == 1
    assert "(riverboat line version 001 not applied)" in err
