"""json and jsonb columns decoded for the hot paths: fetched jobs and bulk-insert results.

psycopg's default loader hands the column's bytes to ``json.loads``, which first sniffs
their encoding; PostgreSQL sends text in the connection's client encoding, which psycopg's
default treats as UTF-8 too. Decoding the text and parsing it directly gives the same
values in about half the time (1.3 against 0.7 µs for a small object, two per job). Set
per cursor, so connections of a caller's pool keep their own loaders.

A caller's connection may also load timestamptz its own way (Django's, with ``USE_TZ =
False``, drops the zone), so result rows read it with psycopg's own loader: an aware time.
"""

from __future__ import annotations

import json
import json.scanner
from typing import Any, TypeVar

from psycopg.abc import AdaptContext
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import set_json_loads

_decoder = json.JSONDecoder()
_parse = _decoder.decode
# The decoder's own scanner: ``decode`` without its Python layers (two whitespace regex
# matches around it), which cost more than scanning a small object. PostgreSQL writes a
# json value alone, without surrounding whitespace (a json column keeps its input's: then
# ``decode`` reads it, and raises as it always did for text that is not one value).
_scan = json.scanner.make_scanner(_decoder)  # type: ignore[arg-type]  # typeshed wants the scanner's own type

Context = TypeVar("Context", bound=AdaptContext)


def _loads(data: str | bytes) -> Any:
    text = data if isinstance(data, str) else str(data, "utf-8")
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return _parse(text)
    return value if end == len(text) else _parse(text)


def fast_json(cursor: Context) -> Context:
    """``cursor``, decoding json and jsonb columns with ``_loads`` and timestamptz as psycopg does."""
    set_json_loads(_loads, cursor)
    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return cursor
