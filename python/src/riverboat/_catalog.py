"""Catalog snapshots of one schema and their differences: the measure of "the same schema".

``migrate verify`` compares a live schema with the migrations replayed into a scratch schema, and
the tests compare a riverboat-migrated database with one River Go migrated; both use this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg

from riverboat._identifiers import quote_identifier
from riverboat._queries import query
from riverboat.errors import RiverboatError


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog object: ``kind`` (relation, column, constraint, index, enum, function, sequence,
    trigger), its ``name``, the table or type it belongs to (``owner``) and its ``definition``."""

    kind: str
    name: str
    owner: str
    definition: str


Catalog = dict[tuple[str, str], CatalogEntry]


def _unqualify(text: str, schema: str) -> str:
    """Drop ``schema.`` qualifiers that deparsing writes regardless of the search path, so two
    schemas with the same objects give the same text."""
    pattern = r'(?<![\w$"])(?:' + re.escape(quote_identifier(schema)) + "|" + re.escape(schema) + r")\."
    return re.sub(pattern, "", text)


def resolve_schema(conn: psycopg.Connection[Any], schema: str | None) -> str:
    """``schema``, or the schema unqualified names resolve to on ``conn``."""
    if schema is not None:
        return schema
    row = conn.execute(query("current_schema", None)).fetchone()
    if row is None or row[0] is None:
        raise RiverboatError("no schema on the connection's search_path exists; pass a schema")
    name: str = row[0]
    return name


def snapshot(conn: psycopg.Connection[Any], schema: str | None) -> Catalog:
    """The catalog of ``schema`` (default: the first schema on the search path), schema-independent."""
    name = resolve_schema(conn, schema)
    # Deparsing qualifies names not on the search path; putting the schema first keeps most text plain.
    with conn.transaction():
        conn.execute(query("search_path_set_local", None), {"search_path": quote_identifier(name)})
        rows = conn.execute(query("catalog_snapshot", None), {"schema": name}).fetchall()
    return {
        (kind, obj): CatalogEntry(kind, obj, owner, _unqualify(definition, name))
        for kind, obj, owner, definition in rows
    }


def diff(expected: Catalog, actual: Catalog, *, report_unexpected: bool = True) -> list[str]:
    """Human-readable differences between two snapshots, one line each; empty when they match.

    With ``report_unexpected`` off, objects that only ``actual`` has are ignored.
    """
    differences: list[str] = []
    for key in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(key), actual.get(key)
        kind, name = key
        if have is None:
            assert want is not None
            differences.append(f"missing {kind} {name}: {want.definition}")
        elif want is None:
            if report_unexpected:
                differences.append(f"unexpected {kind} {name}: {have.definition}")
        elif want.definition != have.definition:
            differences.append(f"{kind} {name} differs: expected {want.definition!r}, found {have.definition!r}")
    return differences
