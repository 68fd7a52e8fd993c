"""Named SQL: one statement per file in ``riverboat/queries``, loaded by name.

Every table name in a query is preceded by the marker ``/* TEMPLATE: schema */`` (River's
convention). With a configured schema the marker becomes ``"schema".``; without one it
is removed and the connection's ``search_path`` decides.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from psycopg import sql

from riverboat._identifiers import quote_identifier, validate_schema_name

SCHEMA_MARKER = "/* TEMPLATE: schema */"


@cache
def query_text(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    return (resources.files("riverboat") / "queries" / f"{name}.sql").read_text(encoding="utf-8")


def apply_schema(text: str, schema: str | None) -> str:
    """Replace every schema marker in ``text``: with the quoted schema, or with nothing."""
    prefix = "" if schema is None else quote_identifier(validate_schema_name(schema)) + "."
    return text.replace(SCHEMA_MARKER, prefix)


@cache
def query(name: str, schema: str | None) -> sql.SQL:
    """The named query for ``schema``, ready to execute with named parameters."""
    return sql.SQL(apply_schema(query_text(name), schema))
