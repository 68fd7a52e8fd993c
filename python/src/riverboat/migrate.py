"""River's schema as migrations: apply, revert, list and verify them (spec/01-schema.md).

Migrations come in lines, one directory each under ``schema/migrations/``: ``main`` is River's own
line, ``riverboat`` holds riverboat's additions. Applied versions are recorded in
``river_migration (line, version)`` exactly as River's migrator records them, so River Go and
riverboat can migrate the same database in turn.

    >>> migrator = Migrator("postgresql://localhost/app")   # doctest: +SKIP
    >>> migrator.up()                                        # doctest: +SKIP
    [MigrationStep(line='main', version=1, name='create_river_migration', direction='up'), ...]
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from riverboat import _catalog
from riverboat._conninfo import connect, first_line
from riverboat._identifiers import validate_schema_name
from riverboat._package_data import schema_files
from riverboat._queries import apply_schema, query
from riverboat.errors import DatabaseConnectionError, MigrationError, ValidationError

MAIN_LINE = "main"
Direction = Literal["up", "down"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

# Main-line versions that changed the shape of river_migration itself.
_LEDGER_CREATED_VERSION = 1
_LEDGER_LINE_VERSION = 5
_FILE_PATTERN = re.compile(r"^(\d{3})_([a-z0-9_]+)\.(up|down)\.sql$")
_LINE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Migration:
    """One version of one line, with its SQL still holding the schema marker."""

    line: str
    version: int
    name: str
    up_sql: str
    down_sql: str


@dataclass(frozen=True)
class MigrationStep:
    """One version applied (``up``) or reverted (``down``)."""

    line: str
    version: int
    name: str
    direction: Direction


@dataclass(frozen=True)
class MigrationState:
    """A version of a line as ``Migrator.list`` reports it. ``name`` is None for a version recorded in
    the database that this riverboat does not know."""

    line: str
    version: int
    name: str | None
    applied_at: datetime | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None


def _migrations_root() -> Traversable:
    return schema_files() / "migrations"


@cache
def _load_all() -> dict[str, tuple[Migration, ...]]:
    lines: dict[str, tuple[Migration, ...]] = {}
    for directory in sorted(_migrations_root().iterdir(), key=lambda d: (d.name != MAIN_LINE, d.name)):
        if directory.is_dir() and _LINE_PATTERN.fullmatch(directory.name):
            lines[directory.name] = _load_line(directory)
    if MAIN_LINE not in lines:
        raise MigrationError(f"no {MAIN_LINE!r} migration line found in {_migrations_root()}")
    return lines


def _load_line(directory: Traversable) -> tuple[Migration, ...]:
    files: dict[int, dict[str, str]] = {}
    names: dict[int, str] = {}
    for entry in directory.iterdir():
        match = _FILE_PATTERN.fullmatch(entry.name)
        if match is None:
            continue
        version = int(match[1])
        if names.setdefault(version, match[2]) != match[2]:
            raise MigrationError(f"migration line {directory.name!r}: version {version:03d} has two names")
        files.setdefault(version, {})[match[3]] = entry.read_text(encoding="utf-8")
    migrations = []
    for expected, version in enumerate(sorted(files), start=1):
        if version != expected:
            raise MigrationError(f"migration line {directory.name!r}: version {expected:03d} is missing")
        pair = files[version]
        for direction in ("up", "down"):
            if direction not in pair:
                raise MigrationError(
                    f"migration line {directory.name!r}: version {version:03d} has no {direction} file"
                )
        migrations.append(Migration(directory.name, version, names[version], pair["up"], pair["down"]))
    return tuple(migrations)


def known_lines() -> list[str]:
    """The migration lines this riverboat ships, ``main`` first."""
    return list(_load_all())


def migrations(line: str = MAIN_LINE) -> tuple[Migration, ...]:
    """Every version of ``line``, oldest first (an empty line has none)."""
    lines = _load_all()
    if line not in lines:
        raise ValidationError("line", "choice", f"must be one of {', '.join(lines)}", line)
    return lines[line]


def _migration(line: str, version: int) -> Migration:
    known = migrations(line)
    if not 1 <= version <= len(known):
        raise ValidationError(
            "version", "choice", f"must be a version of line {line!r} ({_describe_range(known)})", version
        )
    return known[version - 1]


def _describe_range(known: tuple[Migration, ...]) -> str:
    return f"1..{len(known)}" if known else "it has no versions"


def migration_sql(line: str, version: int, direction: Direction, schema: str | None = None) -> str:
    """The SQL of one version in one direction, for ``schema`` (default: unqualified names), ready
    for another migration tool. It does not record the version in ``river_migration``."""
    if direction not in ("up", "down"):
        raise ValidationError("direction", "choice", "must be 'up' or 'down'", direction)
    migration = _migration(line, version)
    return apply_schema(migration.up_sql if direction == "up" else migration.down_sql, schema)


@dataclass(frozen=True)
class _Ledger:
    """What river_migration looks like right now."""

    exists: bool
    has_line: bool


class Migrator:
    """Applies, reverts, lists and verifies migrations on one database and schema.

    ``conn_or_url`` is a database URL (a connection is opened per call) or an open sync psycopg
    connection that is not inside a transaction: every version runs in its own transaction.
    ``schema`` defaults to the connection's search path.
    """

    def __init__(self, conn_or_url: psycopg.Connection[Any] | str, schema: str | None = None) -> None:
        self.schema = None if schema is None else validate_schema_name(schema)
        self._conn_or_url = conn_or_url

    def lines(self) -> list[str]:
        """The migration lines this riverboat ships, ``main`` first."""
        return known_lines()

    def sql(self, line: str, version: int, direction: Direction) -> str:
        """The SQL of one version for this migrator's schema."""
        return migration_sql(line, version, direction, self.schema)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if isinstance(self._conn_or_url, str):
            with connect(self._conn_or_url, autocommit=True) as conn:
                yield conn
            return
        conn = self._conn_or_url
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raise MigrationError("the connection is inside a transaction; migrations need transactions of their own")
        # Autocommit for the duration, so each version's transaction block is a real transaction.
        autocommit = conn.autocommit
        conn.autocommit = True
        try:
            yield conn
        finally:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                conn.autocommit = autocommit

    # Reading the ledger.

    def _ledger(self, conn: psycopg.Connection[Any]) -> _Ledger:
        row = conn.execute(query("migration_table_shape", None), {"schema": self.schema}).fetchone()
        assert row is not None
        return _Ledger(exists=bool(row[0]), has_line=bool(row[1]))

    def _recorded(self, conn: psycopg.Connection[Any], line: str) -> dict[int, datetime]:
        ledger = self._ledger(conn)
        if not ledger.exists:
            return {}
        if not ledger.has_line:
            # Before main 005 the ledger holds main's versions only.
            if line != MAIN_LINE:
                return {}
            rows = conn.execute(query("migration_get_all_assuming_main", self.schema)).fetchall()
        else:
            rows = conn.execute(query("migration_get_by_line", self.schema), {"line": line}).fetchall()
        return {int(version): created_at for version, created_at in rows}

    def _check_known(self, line: str, recorded: dict[int, datetime]) -> None:
        known = len(migrations(line))
        newest = max(recorded, default=0)
        if newest > known:
            raise MigrationError(
                f"the database has {line} line version {newest}, newer than the newest this riverboat knows "
                f"({known}); upgrade riverboat"
            )

    def _record(self, conn: psycopg.Connection[Any], migration: Migration, direction: Direction) -> None:
        ledger = self._ledger(conn)
        params = {"line": migration.line, "version": migration.version}
        if not ledger.exists:
            # Reverting main 001 removed the ledger along with its rows.
            if migration.line == MAIN_LINE and migration.version == _LEDGER_CREATED_VERSION and direction == "down":
                return
            raise MigrationError("river_migration does not exist; migrate the main line first")
        if not ledger.has_line:
            if migration.line != MAIN_LINE:
                raise MigrationError("river_migration has no line column yet; migrate the main line to version 5 first")
            name = "migration_insert_assuming_main" if direction == "up" else "migration_delete_assuming_main"
        else:
            name = "migration_insert" if direction == "up" else "migration_delete"
        conn.execute(query(name, self.schema), params)

    # Applying.

    def _step(self, conn: psycopg.Connection[Any], migration: Migration, direction: Direction) -> bool:
        """Apply or revert one version in its own transaction under the migration lock; False when
        another migrator got there first."""
        label = f"{migration.line} version {migration.version:03d} ({migration.name}) {direction}"
        try:
            with conn.transaction():
                conn.execute(query("migration_lock", None), {"schema": self.schema})
                # Re-read under the lock: a concurrent migrator may have done this version meanwhile.
                recorded = self._recorded(conn, migration.line)
                if (migration.version in recorded) == (direction == "up"):
                    return False
                if migration.line != MAIN_LINE and direction == "up" and not self._ledger(conn).has_line:
                    raise MigrationError(
                        f"cannot apply {label}: migrate the main line first (river_migration needs main version 5)"
                    )
                text = self.sql(migration.line, migration.version, direction)
                conn.execute(sql.SQL(text))
                self._record(conn, migration, direction)
        except (
            pg_errors.DuplicateTable,
            pg_errors.DuplicateObject,
            pg_errors.DuplicateFunction,
            pg_errors.DuplicateColumn,
        ) as exc:
            raise MigrationError(
                f"{label} failed and was rolled back: {first_line(exc)}; its objects exist but the version is "
                "not recorded in river_migration, so the database holds a half-applied or hand-made version"
            ) from None
        except psycopg.OperationalError as exc:
            raise DatabaseConnectionError(f"{label} failed: {first_line(exc)}") from None
        except psycopg.Error as exc:
            raise MigrationError(f"{label} failed and was rolled back: {first_line(exc)}") from None
        return True

    def _run(
        self, fn: Callable[Concatenate[psycopg.Connection[Any], _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run ``fn(conn, *args)`` on a connection, turning stray driver errors into MigrationError."""
        with self._connection() as conn:
            try:
                return fn(conn, *args, **kwargs)
            except psycopg.OperationalError as exc:
                raise DatabaseConnectionError(f"database error: {first_line(exc)}") from None
            except psycopg.Error as exc:
                raise MigrationError(f"database error: {first_line(exc)}") from None

    def up(self, line: str = MAIN_LINE, target_version: int | None = None) -> list[MigrationStep]:
        """Apply every unapplied version of ``line`` up to ``target_version`` (default: the newest)."""
        known = migrations(line)
        if target_version is not None and not 1 <= target_version <= len(known):
            raise ValidationError(
                "target_version",
                "choice",
                f"must be a version of line {line!r} ({_describe_range(known)})",
                target_version,
            )
        target = len(known) if target_version is None else target_version
        return self._run(self._up, known[:target])

    def _up(self, conn: psycopg.Connection[Any], wanted: tuple[Migration, ...]) -> list[MigrationStep]:
        if not wanted:
            return []
        line = wanted[0].line
        recorded = self._recorded(conn, line)
        self._check_known(line, recorded)
        steps = []
        for migration in wanted:
            if migration.version not in recorded and self._step(conn, migration, "up"):
                steps.append(MigrationStep(line, migration.version, migration.name, "up"))
        return steps

    def down(self, line: str = MAIN_LINE, target_version: int | None = None) -> list[MigrationStep]:
        """Revert applied versions of ``line`` newer than ``target_version``; 0 reverts all of them,
        None only the newest (as River's migrator does)."""
        known = migrations(line)
        if target_version is not None and not 0 <= target_version <= len(known):
            raise ValidationError(
                "target_version",
                "choice",
                f"must be 0 or a version of line {line!r} ({_describe_range(known)})",
                target_version,
            )
        return self._run(self._down, line, target_version)

    def _down(self, conn: psycopg.Connection[Any], line: str, target_version: int | None) -> list[MigrationStep]:
        known = migrations(line)
        recorded = self._recorded(conn, line)
        self._check_known(line, recorded)
        applied = sorted(recorded, reverse=True)
        doomed = applied[:1] if target_version is None else [v for v in applied if v > target_version]
        if line == MAIN_LINE and _LEDGER_LINE_VERSION in doomed:
            # Refuse before reverting anything rather than stop half way at 005, whose down SQL refuses too.
            others = [
                row[0] for row in conn.execute(query("migration_lines_recorded", self.schema)) if row[0] != MAIN_LINE
            ]
            if others:
                raise MigrationError(
                    f"cannot revert main version {_LEDGER_LINE_VERSION:03d} while other migration lines are recorded "
                    f"in river_migration ({', '.join(others)}); revert those lines first"
                )
        steps = []
        for version in doomed:
            migration = known[version - 1]
            if self._step(conn, migration, "down"):
                steps.append(MigrationStep(line, version, migration.name, "down"))
        return steps

    def verify(self, line: str | None = None) -> list[str]:
        """Differences between the live schema and what its recorded versions define; empty when they
        match. With ``line`` only that line (and main, which it builds on) is replayed, and objects the
        replay does not define are not reported."""
        lines = known_lines() if line is None else [MAIN_LINE] + ([line] if line != MAIN_LINE else [])
        for name in lines:
            migrations(name)
        return self._run(self._verify, lines, line is None)

    def _verify(self, conn: psycopg.Connection[Any], lines: list[str], report_unexpected: bool) -> list[str]:
        recorded = {name: self._recorded(conn, name) for name in lines}
        for name, versions in recorded.items():
            self._check_known(name, versions)
        actual = {
            key: entry for key, entry in _catalog.snapshot(conn, self.schema).items() if entry.owner.startswith("river")
        }
        # The replay commits version by version, as a real migration does: an enum label added by one
        # version (main 004's 'pending') cannot be used by a later one (006) in the same transaction.
        scratch = f"riverboat_verify_{secrets.token_hex(4)}"
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
        try:
            for name in lines:
                for migration in migrations(name):
                    if migration.version in recorded[name]:
                        with conn.transaction():
                            conn.execute(sql.SQL(migration_sql(name, migration.version, "up", scratch)))
            expected = _catalog.snapshot(conn, scratch)
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(scratch)))
        return _catalog.diff(expected, actual, report_unexpected=report_unexpected)

    def unapplied(self, line: str | None = None) -> dict[str, list[int]]:
        """Known versions the database has not recorded, by line, for the lines it needs:
        main, and ``line`` if given; without ``line``, also every other line of which some
        versions are applied (a line never applied at all is one this database does not use)."""
        lines = known_lines() if line is None else list(dict.fromkeys([MAIN_LINE, line]))
        for name in lines:
            migrations(name)
        return self._run(self._unapplied, lines, line)

    def _unapplied(self, conn: psycopg.Connection[Any], lines: list[str], line: str | None) -> dict[str, list[int]]:
        missing = {}
        for name in lines:
            recorded = self._recorded(conn, name)
            versions = [m.version for m in migrations(name) if m.version not in recorded]
            if versions and (name in (MAIN_LINE, line) or recorded):
                missing[name] = versions
        return missing

    def list(self, line: str = MAIN_LINE) -> list[MigrationState]:
        """Every version of ``line``, known or recorded, with when it was applied (None: not applied)."""
        known = migrations(line)
        recorded = self._run(self._recorded, line)
        names = {m.version: m.name for m in known}
        return [
            MigrationState(line, version, names.get(version), recorded.get(version))
            for version in sorted(names.keys() | recorded.keys())
        ]
