"""Catalog identity with River Go v0.51.2's own migrator, and the two migrators taking turns."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from riverboat import _catalog
from riverboat.migrate import Migrator, migrations
from tests.helpers import go_binary

pytestmark = pytest.mark.go

NEWEST_MAIN = len(migrations("main"))


def river(url: str, command: str, *, schema: str | None = None, target_version: int | None = None) -> list[str]:
    """Run River Go's migrator; returns its output lines ("applied N", "removed N", or versions)."""
    args = [str(go_binary("rivermigrate")), "-database-url", url]
    if schema is not None:
        args += ["-schema", schema]
    if target_version is not None:
        args += ["-target-version", str(target_version)]
    result = subprocess.run([*args, command], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def river_url(bare_db_url: str) -> Iterator[str]:
    """A second empty database beside ``bare_db_url``, for River Go to migrate."""
    name = "river_go_" + secrets.token_hex(4)
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield bare_db_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def snapshot(url: str, schema: str | None) -> _catalog.Catalog:
    with psycopg.connect(url, autocommit=True) as conn:
        return _catalog.snapshot(conn, schema)


def ledger(url: str, schema: str | None) -> list[tuple[str, int]]:
    table = sql.Identifier(schema or "public", "river_migration")
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql.SQL("SELECT line, version FROM {} ORDER BY 1, 2").format(table)).fetchall()
    return [(line, version) for line, version in rows]


def create_schema(url: str, schema: str | None) -> None:
    if schema is not None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


@pytest.mark.parametrize("schema", [None, "river_custom"])
def test_catalog_equals_river_go(bare_db_url: str, river_url: str, schema: str | None) -> None:
    create_schema(bare_db_url, schema)
    create_schema(river_url, schema)
    assert river(river_url, "up", schema=schema) == [w for v in range(1, NEWEST_MAIN + 1) for w in ("applied", str(v))]
    Migrator(bare_db_url, schema).up()

    theirs, ours = snapshot(river_url, schema), snapshot(bare_db_url, schema)
    assert _catalog.diff(theirs, ours) == []
    # The comparison covers what the protocol fixes, including the renamed ledger's primary key.
    kinds = {kind for kind, _ in theirs}
    assert kinds >= {"relation", "column", "constraint", "index", "enum", "function", "sequence"}
    assert ("index", "river_migration_pkey1") in theirs
    assert theirs[("relation", "river_leader")].definition.endswith("persistence=u")
    assert theirs[("enum", "river_job_state")].definition == (
        "available, cancelled, completed, discarded, pending, retryable, running, scheduled"
    )
    assert ledger(river_url, schema) == ledger(bare_db_url, schema)


def test_catalog_comparison_detects_a_difference(bare_db_url: str, river_url: str) -> None:
    river(river_url, "up")
    Migrator(bare_db_url).up()
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE river_queue ALTER COLUMN updated_at DROP DEFAULT")
    assert _catalog.diff(snapshot(river_url, None), snapshot(bare_db_url, None)) == [
        "column river_queue.updated_at differs: expected "
        "'position=5 type=timestamp with time zone not_null=true default=CURRENT_TIMESTAMP identity= generated=', "
        "found 'position=5 type=timestamp with time zone not_null=true default=(none) identity= generated='"
    ]


def test_river_go_finds_nothing_to_do_after_riverboat_and_the_reverse(bare_db_url: str, river_url: str) -> None:
    Migrator(bare_db_url).up()
    assert river(bare_db_url, "up") == []
    assert river(bare_db_url, "list") == [str(v) for v in range(1, NEWEST_MAIN + 1)]

    river(river_url, "up")
    assert Migrator(river_url).up() == []
    assert Migrator(river_url).verify() == []


def test_riverboat_continues_a_database_river_go_migrated_to_version_4(bare_db_url: str, river_url: str) -> None:
    assert river(bare_db_url, "up", target_version=4) == [w for v in range(1, 5) for w in ("applied", str(v))]
    assert [s.version for s in Migrator(bare_db_url).up()] == list(range(5, NEWEST_MAIN + 1))

    river(river_url, "up")
    assert _catalog.diff(snapshot(river_url, None), snapshot(bare_db_url, None)) == []
    assert ledger(river_url, None) == ledger(bare_db_url, None)


def test_river_go_continues_and_reverts_a_riverboat_database(bare_db_url: str) -> None:
    Migrator(bare_db_url).up(target_version=4)
    assert river(bare_db_url, "up") == [w for v in range(5, NEWEST_MAIN + 1) for w in ("applied", str(v))]
    assert Migrator(bare_db_url).verify() == []
    assert river(bare_db_url, "down", target_version=2) == [
        w for v in range(NEWEST_MAIN, 2, -1) for w in ("removed", str(v))
    ]
    assert [s.version for s in Migrator(bare_db_url).list() if s.applied] == [1, 2]
    assert [s.version for s in Migrator(bare_db_url).up()] == list(range(3, NEWEST_MAIN + 1))
    assert Migrator(bare_db_url).verify() == []
