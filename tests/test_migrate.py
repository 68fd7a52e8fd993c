"""The migrator against real Postgres: round trips, concurrency, custom schemas, verify, bad input."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from riverboat import _catalog
from riverboat import migrate as migrate_module
from riverboat.errors import ValidationError
from riverboat.migrate import (
    DatabaseConnectionError,
    MigrationError,
    Migrator,
    known_lines,
    migration_sql,
    migrations,
)

NEWEST_MAIN = len(migrations("main"))


def recorded(url: str, schema: str = "public", line: str = "main") -> list[int]:
    with psycopg.connect(url) as conn:
        shape = conn.execute(
            "SELECT count(*) FILTER (WHERE column_name = 'line'), count(*) FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = 'river_migration'",
            (schema,),
        ).fetchone()
        assert shape is not None
        if shape[1] == 0:
            return []
        table = sql.Identifier(schema, "river_migration")
        if shape[0] == 0:
            rows = conn.execute(sql.SQL("SELECT version FROM {} ORDER BY version").format(table)).fetchall()
        else:
            rows = conn.execute(
                sql.SQL("SELECT version FROM {} WHERE line = %s ORDER BY version").format(table), (line,)
            ).fetchall()
    return [row[0] for row in rows]


def snapshot(url: str, schema: str | None = None) -> _catalog.Catalog:
    with psycopg.connect(url, autocommit=True) as conn:
        return _catalog.snapshot(conn, schema)


def test_main_line_has_river_v0_51_versions() -> None:
    names = [m.name for m in migrations("main")]
    assert names == [
        "create_river_migration",
        "initial_schema",
        "river_job_tags_non_null",
        "pending_and_more",
        "migration_unique_client",
        "bulk_unique",
        "notification_outbox_sqlite_jsonb_and_sql_cleanup",
        "job_id_autoincrement",
    ]
    assert known_lines()[0] == "main"


def test_up_down_up_round_trip_of_every_version(bare_db_url: str) -> None:
    migrator = Migrator(bare_db_url)
    for version in range(1, NEWEST_MAIN + 1):
        steps = migrator.up(target_version=version)
        assert [s.version for s in steps] == [version]
        assert recorded(bare_db_url) == list(range(1, version + 1))
        assert migrator.verify() == []
    full = snapshot(bare_db_url)

    for version in range(NEWEST_MAIN, 0, -1):
        steps = migrator.down()
        assert [(s.version, s.direction) for s in steps] == [(version, "down")]
        assert recorded(bare_db_url) == list(range(1, version))
    assert migrator.down() == []
    assert not any(entry.kind == "relation" for entry in snapshot(bare_db_url).values())

    assert [s.version for s in migrator.up()] == list(range(1, NEWEST_MAIN + 1))
    # The enum keeps 'pending' after reverting 004 (Postgres cannot drop a label), and up again adds it
    # IF NOT EXISTS, so the catalog after the round trip equals the first one.
    assert _catalog.diff(full, snapshot(bare_db_url)) == []
    assert migrator.verify() == []


def test_down_to_a_target_and_up_again(bare_db_url: str) -> None:
    migrator = Migrator(bare_db_url)
    migrator.up()
    assert [s.version for s in migrator.down(target_version=3)] == [8, 7, 6, 5, 4]
    assert recorded(bare_db_url) == [1, 2, 3]
    assert [s.version for s in migrator.up()] == [4, 5, 6, 7, 8]
    assert [s.version for s in migrator.down(target_version=0)] == list(range(8, 0, -1))
    assert recorded(bare_db_url) == []


def test_migrations_keep_existing_rows(bare_db_url: str) -> None:
    migrator = Migrator(bare_db_url)
    migrator.up(target_version=2)
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO river_job (kind, max_attempts) VALUES ('old', 3)")
    migrator.up()
    with psycopg.connect(bare_db_url) as conn:
        row = conn.execute("SELECT args, metadata, tags, state FROM river_job").fetchone()
    assert row == ({}, {}, [], "available")
    assert [(m.line, m.version) for m in migrator.list()][:2] == [("main", 1), ("main", 2)]
    assert all(state.applied for state in migrator.list())


def test_two_concurrent_migrators_apply_each_version_once(bare_db_url: str) -> None:
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append([s.version for s in Migrator(bare_db_url).up()])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    applied = sorted(v for versions in results for v in versions)
    assert applied == list(range(1, NEWEST_MAIN + 1))
    assert recorded(bare_db_url) == list(range(1, NEWEST_MAIN + 1))


def test_custom_schema(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA river_custom")
    migrator = Migrator(bare_db_url, schema="river_custom")
    migrator.up()
    assert recorded(bare_db_url, "river_custom") == list(range(1, NEWEST_MAIN + 1))
    assert not any(entry.kind == "relation" for entry in snapshot(bare_db_url).values())
    assert ("index", "river_job_unique_idx") in snapshot(bare_db_url, "river_custom")
    assert migrator.verify() == []
    # The same layout as in the default schema, names and all.
    Migrator(bare_db_url).up()
    assert _catalog.diff(snapshot(bare_db_url), snapshot(bare_db_url, "river_custom")) == []


def test_migrator_accepts_a_connection(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url) as conn:
        assert not conn.autocommit
        Migrator(conn).up()
        assert not conn.autocommit
        conn.execute("SELECT 1")
        with pytest.raises(MigrationError, match="inside a transaction"):
            Migrator(conn).up()
    assert recorded(bare_db_url) == list(range(1, NEWEST_MAIN + 1))


def test_verify_reports_a_dropped_index_and_a_changed_default(conn: psycopg.Connection[Any], db_url: str) -> None:
    migrator = Migrator(db_url)
    assert migrator.verify() == []
    conn.execute("DROP INDEX river_job_kind")
    conn.execute("ALTER TABLE river_job ALTER COLUMN priority SET DEFAULT 2")
    conn.execute("CREATE INDEX river_job_extra ON river_job (queue)")
    differences = migrator.verify()
    assert any(d.startswith("missing index river_job_kind:") for d in differences)
    assert any(d.startswith("column river_job.priority differs") and "default=2" in d for d in differences)
    assert any(d.startswith("unexpected index river_job_extra") for d in differences)
    assert len(differences) == 3
    assert all("river_job_extra" not in d for d in migrator.verify("main"))


def test_migration_sql_fills_the_schema_marker() -> None:
    text = migration_sql("main", 2, "up", "my_schema")
    assert "/* TEMPLATE: schema */" not in text
    assert 'CREATE TABLE "my_schema".river_job' in text
    assert "CREATE TABLE river_job" in migration_sql("main", 2, "up")
    assert "DROP TABLE river_migration" in migration_sql("main", 1, "down")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.up(target_version=NEWEST_MAIN + 1), "target_version"),
        (lambda m: m.up(target_version=0), "target_version"),
        (lambda m: m.down(target_version=-1), "target_version"),
        (lambda m: m.up(line="nope"), "line"),
        (lambda m: m.sql("main", 99, "up"), "version"),
    ],
)
def test_bad_arguments_raise_validation_errors(bare_db_url: str, call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(Migrator(bare_db_url))
    assert info.value.field == field


@pytest.mark.parametrize("schema", ["bad-name", "1starts_with_digit", "x" * 47, ""])
def test_invalid_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(ValidationError) as info:
        Migrator("postgresql://unused", schema=schema)
    assert info.value.field == "schema"


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(DatabaseConnectionError, match=r"cannot connect to the database at 127\.0\.0\.1:1/nowhere"):
        Migrator("postgresql://someone:secret@127.0.0.1:1/nowhere").up()


def test_refused_login_is_one_clear_error(bare_db_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(bare_db_url)
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS riverboat_pw_user")
        conn.execute("CREATE ROLE riverboat_pw_user LOGIN PASSWORD 'right'")
    # The test cluster trusts every loopback login, so a refused login is shown by a role that may not log in.
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("ALTER ROLE riverboat_pw_user NOLOGIN")
    url = f"postgresql://riverboat_pw_user:wrong@{info['host']}:{info['port']}/{info['dbname']}"
    with pytest.raises(DatabaseConnectionError) as raised:
        Migrator(url).up()
    message = str(raised.value)
    assert "cannot connect" in message
    assert "wrong" not in message
    assert "\n" not in message


def test_main_line_newer_than_known_is_refused(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO river_migration (line, version) VALUES ('main', %s)", (NEWEST_MAIN + 1,))
    migrator = Migrator(db_url)
    for call in (migrator.up, migrator.down, migrator.verify):
        with pytest.raises(MigrationError, match=f"main line version {NEWEST_MAIN + 1}, newer than"):
            call()
    states = migrator.list()
    assert states[-1].version == NEWEST_MAIN + 1
    assert states[-1].name is None


def test_half_applied_version_is_named_and_rolled_back(bare_db_url: str) -> None:
    migrator = Migrator(bare_db_url)
    migrator.up(target_version=1)
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE river_leader (name text)")
    failed = r"main version 002 \(initial_schema\) up failed and was rolled back"
    with pytest.raises(MigrationError, match=failed) as info:
        migrator.up()
    assert "half-applied" in str(info.value)
    assert recorded(bare_db_url) == [1]
    with psycopg.connect(bare_db_url) as conn:
        assert conn.execute("SELECT to_regclass('river_job')").fetchone() == (None,)


def test_reverting_main_005_refuses_while_other_lines_are_recorded(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO river_migration (line, version) VALUES ('some_line', 1)")
    migrator = Migrator(db_url)
    with pytest.raises(MigrationError, match=r"main version 005 while other migration lines are recorded .*some_line"):
        migrator.down(target_version=4)
    assert recorded(db_url) == list(range(1, NEWEST_MAIN + 1))
    assert migrator.verify("main") == []


def test_other_lines_need_the_main_line_first(bare_db_url: str) -> None:
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        state_before = conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'river%'").fetchone()
    for line in known_lines()[1:]:
        if migrations(line):
            with pytest.raises(MigrationError, match="migrate the main line first"):
                Migrator(bare_db_url).up(line=line)
        else:
            assert Migrator(bare_db_url).up(line=line) == []
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'river%'").fetchone() == state_before


@pytest.fixture
def extra_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The shipped lines plus a line ``extra`` with one version, as the migrator finds them."""
    root = tmp_path / "migrations"
    shutil.copytree(Path(str(migrate_module._migrations_root())), root)
    extra = root / "extra"
    extra.mkdir(exist_ok=True)
    (extra / "001_add_counter.up.sql").write_text(
        "-- test line: one table.\n"
        "CREATE TABLE /* TEMPLATE: schema */river_extra_counter (n bigint NOT NULL DEFAULT 0);\n"
    )
    (extra / "001_add_counter.down.sql").write_text(
        "-- test line: drop it.\nDROP TABLE /* TEMPLATE: schema */river_extra_counter;\n"
    )
    monkeypatch.setattr(migrate_module, "_migrations_root", lambda: root)
    migrate_module._load_all.cache_clear()
    yield "extra"
    migrate_module._load_all.cache_clear()


def test_lines_are_handled_generically(bare_db_url: str, extra_line: str) -> None:
    assert "extra" in known_lines()
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA lines_schema")
    migrator = Migrator(bare_db_url, schema="lines_schema")
    with pytest.raises(MigrationError, match="migrate the main line first"):
        migrator.up(line=extra_line)
    migrator.up()
    assert [(s.line, s.version) for s in migrator.up(line=extra_line)] == [("extra", 1)]
    assert recorded(bare_db_url, "lines_schema", "extra") == [1]
    assert recorded(bare_db_url, "lines_schema", "main") == list(range(1, NEWEST_MAIN + 1))
    assert migrator.verify() == []
    assert [state.applied for state in migrator.list(extra_line)] == [True]
    with pytest.raises(MigrationError, match=r"other migration lines are recorded in river_migration \(extra\)"):
        migrator.down(target_version=4)
    assert recorded(bare_db_url, "lines_schema", "main") == list(range(1, NEWEST_MAIN + 1))
    assert [(s.line, s.version) for s in migrator.down(line=extra_line)] == [("extra", 1)]
    assert recorded(bare_db_url, "lines_schema", "extra") == []
    assert migrator.verify() == []
    assert [s.version for s in migrator.down(target_version=4)] == list(range(NEWEST_MAIN, 4, -1))
