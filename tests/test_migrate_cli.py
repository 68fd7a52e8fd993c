"""``riverboat migrate``: output, exit status, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from click.testing import CliRunner

from riverboat.cli import main
from riverboat.migrate import migrations

NEWEST_MAIN = len(migrations("main"))


def run(*args: str, env: dict[str, str] | None = None, answer: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["migrate", *args], env=env, input=answer)
    return result.exit_code, result.stdout, result.stderr


def test_up_list_verify_down(bare_db_url: str) -> None:
    code, out, _ = run("up", "--database-url", bare_db_url)
    assert code == 0
    assert out.splitlines()[0] == "applied main 001 create_river_migration"
    assert f"applied main {NEWEST_MAIN:03d} job_id_autoincrement" in out

    code, out, _ = run("up", "--database-url", bare_db_url)
    assert (code, out) == (0, "nothing to apply: up to date\n")

    code, out, _ = run("list", "--line", "main", env={"DATABASE_URL": bare_db_url})
    assert code == 0
    assert len(out.splitlines()) == NEWEST_MAIN
    assert "not applied" not in out

    code, out, _ = run("verify", "--database-url", bare_db_url)
    assert (code, out) == (0, "schema matches the migrations\n")

    code, out, _ = run("down", "--database-url", bare_db_url, "--target-version", "6")
    assert code == 0
    assert out.splitlines() == [
        f"reverted main {NEWEST_MAIN:03d} job_id_autoincrement",
        "reverted main 007 notification_outbox_sqlite_jsonb_and_sql_cleanup",
    ]
    code, out, _ = run("list", "--database-url", bare_db_url, "--line", "main")
    assert out.splitlines()[-1].endswith("not applied")


def _applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM river_migration").fetchone()
        return 0 if row is None else int(row[0])


def test_reverting_everything_asks_first(bare_db_url: str) -> None:
    run("up", "--database-url", bare_db_url, "--line", "main")
    down_to_zero = ("down", "--database-url", bare_db_url, "--target-version", "0")
    for answer in ("n\n", "", None):
        code, out, err = run(*down_to_zero, answer=answer)
        assert (code, out) == (1, "")
        assert "Revert every version of line 'main' on 127.0.0.1:" in err
        assert "River's tables and every job in them will be dropped. [y/N]" in err
        assert err.splitlines()[-1] == "riverboat: nothing reverted: not confirmed (--yes reverts without asking)"
        assert _applied(bare_db_url) == NEWEST_MAIN
    code, out, _ = run(*down_to_zero, answer="y\n")
    assert (code, out.splitlines()[-1]) == (0, "reverted main 001 create_river_migration")
    run("up", "--database-url", bare_db_url, "--line", "main")
    code, out, err = run(*down_to_zero, "--yes")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == NEWEST_MAIN


def test_up_to_a_target_version_in_a_custom_schema(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA cli_schema")
    code, out, _ = run("up", "--database-url", bare_db_url, "--schema", "cli_schema", "--target-version", "3")
    assert code == 0
    assert len(out.splitlines()) == 3
    code, _, err = run("verify", "--database-url", bare_db_url, "--schema", "cli_schema")
    assert code == 1
    assert f"(main line versions 004..{NEWEST_MAIN:03d} not applied)" in err


def test_verify_exits_1_and_prints_each_difference(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX river_job_args_index")
        conn.execute("ALTER TABLE river_job ALTER COLUMN queue SET DEFAULT 'other'")
    code, out, err = run("verify", "--database-url", db_url)
    assert code == 1
    assert len(out.splitlines()) == 2
    assert out.startswith("column river_job.queue differs")
    assert "missing index river_job_args_index" in out
    assert err == "riverboat: 2 difference(s) from the migrations\n"


def test_sql_prints_a_version_for_other_tools() -> None:
    code, out, _ = run("sql", "--version", "2", "--up", "--schema", "app")
    assert code == 0
    assert 'CREATE TABLE "app".river_job' in out
    code, out, _ = run("sql", "--version", "6", "--down")
    assert "DROP INDEX river_job_unique_idx" in out
    code, _, err = run("sql", "--version", "2")
    assert code != 0
    assert "--up or --down" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["up", "--target-version", "99"],
            "riverboat: invalid target_version (choice): must be a version of line 'main' (1..8)",
        ),
        (["up", "--schema", "no-dashes"], "riverboat: invalid schema (pattern): must match"),
        (["up", "--line", "nope"], "riverboat: invalid line (choice): must be one of main"),
        (["down", "--target-version", "-3"], "riverboat: invalid target_version (choice): must be 0 or a version"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(bare_db_url: str, args: list[str], message: str) -> None:
    code, out, err = run(*args, "--database-url", bare_db_url)
    assert code == 1
    assert out == ""
    assert err.startswith(message)
    assert len(err.splitlines()) == 1


def test_unreachable_database_from_a_real_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "riverboat", "migrate", "up"],
        capture_output=True, text=True, check=False,
        env={"DATABASE_URL": "postgresql://user:hunter2@127.0.0.1:1/app", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("riverboat: cannot connect to the database at 127.0.0.1:1/app")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def test_newer_main_line_is_one_line(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO river_migration (line, version) VALUES ('main', 42)")
    code, _, err = run("up", "--database-url", db_url)
    assert code == 1
    assert err == (
        f"riverboat: the database has main line version 42, newer than the newest this riverboat knows "
        f"({NEWEST_MAIN}); upgrade riverboat\n"
    )


def test_river_schema_from_the_environment_is_used(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA from_env")
    code, _, err = run("up", "--database-url", bare_db_url, env={"RIVER_SCHEMA": "from_env"})
    assert code == 0, err
    with psycopg.connect(bare_db_url) as conn:
        row = conn.execute("SELECT to_regclass('from_env.river_job') IS NOT NULL").fetchone()
    assert row == (True,)
