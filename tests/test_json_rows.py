"""The hot paths' json/jsonb loader (riverboat._json_rows) reads what psycopg's default reads."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from riverboat._json_rows import fast_json

# Text jsonb can hold: no NUL and no lone surrogates.
text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(json_values, min_size=1, max_size=5))
def test_reads_what_the_default_loader_reads(conn: psycopg.Connection[Any], values: list[Any]) -> None:
    query = "SELECT v::jsonb, v::json FROM unnest(%s::jsonb[]) AS v"
    params = ([Jsonb(v) for v in values],)
    expected = conn.execute(query, params).fetchall()
    with fast_json(conn.cursor()) as cur:
        assert cur.execute(query, params).fetchall() == expected


def test_a_cursor_does_not_change_its_connection(conn: psycopg.Connection[Any]) -> None:
    default_loader = conn.adapters.get_loader(conn.adapters.types["jsonb"].oid, psycopg.pq.Format.TEXT)
    with fast_json(conn.cursor()) as cur:
        assert cur.adapters.get_loader(conn.adapters.types["jsonb"].oid, psycopg.pq.Format.TEXT) is not default_loader
    assert conn.adapters.get_loader(conn.adapters.types["jsonb"].oid, psycopg.pq.Format.TEXT) is default_loader


@pytest.mark.parametrize("text", ['  {"a": [1, 2]} ', '{"a": 1}  ', "\t\"x\"", "[]\n", "1", "{}"])
def test_reads_json_text_with_surrounding_whitespace(conn: psycopg.Connection[Any], text: str) -> None:
    query = "SELECT %s::json"
    expected = conn.execute(query, (text,)).fetchall()
    with fast_json(conn.cursor()) as cur:
        assert cur.execute(query, (text,)).fetchall() == expected
