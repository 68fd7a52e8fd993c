"""``insert_many_params`` sends what psycopg sends for ``batch_arrays``'s lists, through a
cursor that the server binds (``binary_arrays``) and one that binds itself (Django's
``ClientCursor``): each array of ``job_insert_many.sql``, cast as the statement casts it,
reads back the same (spec/03-insert.md#the-insert-statement)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riverboat._insert import (
    INSERT_MANY_TYPES,
    ClientDefaults,
    InsertOpts,
    InsertParams,
    InsertResolver,
    batch_arrays,
    insert_many_params,
)
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs

NOW = datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
SELECT = "SELECT " + ", ".join(f"%({name})b::{element}[]" for name, element in INSERT_MANY_TYPES.items())

_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=5)
_opts = st.builds(
    InsertOpts,
    queue=st.sampled_from([None, "q1", "q_2"]),
    priority=st.sampled_from([None, 1, 4]),
    max_attempts=st.sampled_from([None, 1, 32767]),
    tags=st.sampled_from([None, (), ("abc", "b-c_d"), ("xyz",)]),
    metadata=st.one_of(st.none(), st.dictionaries(_text, _text, max_size=2)),
    scheduled_at=st.sampled_from([None, NOW + timedelta(hours=1)]),
    pending=st.sampled_from([None, True]),
    unique_opts=st.sampled_from([None, UniqueOpts(by_args=True), UniqueOpts(by_queue=True, by_args=True)]),
)
# Middleware may set a job's own creation time: the same instant in another zone, or another instant.
_created_at = st.sampled_from(
    [None, NOW.astimezone(timezone(timedelta(hours=5))), datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC)]
)
_jobs = st.lists(
    st.tuples(st.sampled_from(["k1", "k_2"]), st.dictionaries(_text, _text, max_size=3), _opts, _created_at),
    min_size=1,
)


def _rows(jobs: list[tuple[str, dict[str, str], InsertOpts, datetime | None]]) -> list[InsertParams]:
    resolver = InsertResolver(ClientDefaults(), NOW)
    rows = [(resolver.build(RawArgs(kind, args), opts), created_at) for kind, args, opts, created_at in jobs]
    return [row if created_at is None else row._replace(created_at=created_at) for row, created_at in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_jobs)
def test_insert_many_params_read_back_as_the_lists_do(
    conn: psycopg.Connection[Any], jobs: list[tuple[str, dict[str, str], InsertOpts, datetime | None]]
) -> None:
    rows = _rows(jobs)
    expected = conn.execute(SELECT, batch_arrays(rows)).fetchone()
    for cur in (conn.cursor(), psycopg.ClientCursor(conn)):
        with cur:
            assert cur.execute(SELECT, insert_many_params(rows, cur)).fetchone() == expected
