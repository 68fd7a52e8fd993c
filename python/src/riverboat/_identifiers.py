"""Validation of the identifiers riverboat puts into SQL: schema names."""

from __future__ import annotations

import re

from riverboat.errors import ValidationError

# River's rule. The length bound keeps "<schema>.river_leadership" within Postgres' 63-byte channel names.
SCHEMA_NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SCHEMA_NAME_MAX_LENGTH = 46


def validate_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a valid River schema name, else raise ``ValidationError``."""
    if not isinstance(schema, str) or not SCHEMA_NAME_PATTERN.fullmatch(schema):
        raise ValidationError("schema", "pattern", "must match ^[a-zA-Z_][a-zA-Z0-9_]*$", schema)
    if len(schema) > SCHEMA_NAME_MAX_LENGTH:
        raise ValidationError("schema", "length", f"must be at most {SCHEMA_NAME_MAX_LENGTH} characters", schema)
    return schema


def quote_identifier(name: str) -> str:
    """Double-quote an already validated identifier."""
    return '"' + name.replace('"', '""') + '"'
