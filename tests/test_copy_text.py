"""``CopyText`` writes the rows ``Copy.write_row`` writes for ``copy_row``: the same jobs
copied both ways are stored alike, column for column (spec/03-insert.md#bulk-insert-with-copy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riverboat._insert import COPY_TYPES, ClientDefaults, CopyText, InsertOpts, InsertParams, InsertResolver, copy_row
from riverboat._queries import query
from riverboat.args import RawArgs

NOW = datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
COLUMNS = "args::text, created_at, kind, max_attempts, metadata::text, priority, queue, scheduled_at, state, tags"

# Text that COPY must escape (backslash, tab, newline, ...) or that JSON escapes.
_text = st.text(st.sampled_from(["a", "é", "\\", "\t", "\n", "\r", "\b", "\f", "\v", '"', "<", "\u2028", "\x01"]))
_opts = st.builds(
    InsertOpts,
    queue=st.sampled_from([None, "q1", "q_2"]),
    priority=st.sampled_from([None, 1, 4]),
    tags=st.sampled_from([None, (), ("abc", "b-c_d"), ("xyz",)]),
    metadata=st.one_of(st.none(), st.dictionaries(_text, _text, max_size=2)),
    scheduled_at=st.sampled_from(
        [None, NOW + timedelta(hours=1), datetime(2027, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-3)))]
    ),
    pending=st.sampled_from([None, True]),
)


def _rows(jobs: list[tuple[str, dict[str, str], InsertOpts]]) -> list[InsertParams]:
    resolver = InsertResolver(ClientDefaults(), NOW)
    return [resolver.build(RawArgs(kind, args), opts) for kind, args, opts in jobs]


_args = st.dictionaries(_text, _text, max_size=3)
_jobs = st.lists(st.tuples(st.sampled_from(["k1", "k_2"]), _args, _opts), min_size=1)


def _copied(conn: psycopg.Connection[Any], rows: list[InsertParams], *, fast: bool) -> list[tuple[Any, ...]]:
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        with cur.copy(query("job_insert_copy", None)) as copy:
            if fast:
                text = CopyText(cur)
                for row in rows:
                    text.add(row)
                copy.write(text.take())
            else:
                copy.set_types(COPY_TYPES)
                for row in rows:
                    copy.write_row(copy_row(row))
        cur.execute(f"SELECT {COLUMNS} FROM river_job ORDER BY id")
        return cur.fetchall()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_jobs)
def test_copy_text_stores_what_write_row_stores(
    conn: psycopg.Connection[Any], jobs: list[tuple[str, dict[str, str], InsertOpts]]
) -> None:
    rows = _rows(jobs)
    assert _copied(conn, rows, fast=True) == _copied(conn, rows, fast=False)
