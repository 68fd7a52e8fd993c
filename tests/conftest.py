"""Shared fixtures: one private PostgreSQL cluster per test session, started by the tests.

The cluster runs from the machine's server binaries (as the ``postgres`` user when the
tests run as root, as in CI). pytest-postgresql attaches to it and hands each test a
fresh database cloned from a template: ``bare_db_url`` is empty, ``db_url`` is migrated
to the newest version of every migration line.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytest_postgresql import factories

from riverboat.devdb import DevDatabase
from tests.helpers import url_of


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[DevDatabase]:
    parent = Path(tempfile.mkdtemp(prefix="riverboat-tests-"))
    os.chmod(parent, 0o755)
    server = DevDatabase(parent / "cluster")
    url = server.start()
    info = psycopg.conninfo.conninfo_to_dict(url)
    request.config.option.postgresql_host = info["host"]
    request.config.option.postgresql_port = int(str(info["port"]))
    request.config.option.postgresql_user = info["user"]
    try:
        yield server
    finally:
        server.destroy()


def _migrate_template(**conninfo: Any) -> None:
    from riverboat.migrate import Migrator  # noqa: PLC0415

    with psycopg.connect(**{**conninfo, "autocommit": True}) as conn:
        migrator = Migrator(conn)
        for line in migrator.lines():
            migrator.up(line=line)


_bare_proc = factories.postgresql_noproc(dbname="bare")
_migrated_proc = factories.postgresql_noproc(dbname="migrated", load=[_migrate_template])
_bare_conn = factories.postgresql("_bare_proc_ready", dbname="bare")
_migrated_conn = factories.postgresql("_migrated_proc_ready", dbname="migrated")


@pytest.fixture(scope="session")
def _bare_proc_ready(pg_server: DevDatabase, _bare_proc: Any) -> Any:
    return _bare_proc


@pytest.fixture(scope="session")
def _migrated_proc_ready(pg_server: DevDatabase, _migrated_proc: Any) -> Any:
    return _migrated_proc


@pytest.fixture
def bare_db_url(_bare_conn: psycopg.Connection[Any]) -> str:
    """URL of a fresh, empty database."""
    return url_of(_bare_conn)


@pytest.fixture
def db_url(_migrated_conn: psycopg.Connection[Any]) -> str:
    """URL of a fresh database migrated to the newest version of every line."""
    return url_of(_migrated_conn)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh migrated database."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection
