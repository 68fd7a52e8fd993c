"""Insert options and the pure insert decisions, without a database (spec/03-insert.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riverboat._insert import (
    ClientDefaults,
    InsertManyParams,
    InsertOpts,
    InsertParams,
    InsertResolver,
    batch_arrays,
    copy_row,
    fold_duplicates,
    notify_queues_of_params,
    results_in_input_order,
    split_item,
)
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs, args_json_schema, encode_args, kind_of
from riverboat.errors import RiverboatError, ValidationError

NOW = datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
DEFAULTS = ClientDefaults()


@dataclass
class Simple:
    kind: ClassVar[str] = "conformance_simple"
    id: int


@dataclass
class WithDefaults:
    kind: ClassVar[str] = "with_defaults"
    insert_opts: ClassVar[InsertOpts] = InsertOpts(
        queue="kind_q", priority=3, max_attempts=9, tags=("kind_tag",), metadata={"from": "kind"}, pending=True
    )
    id: int


@dataclass
class NotAKind:
    id: int


def build(args: Any, opts: InsertOpts | None = None, defaults: ClientDefaults = DEFAULTS) -> InsertParams:
    return InsertResolver(defaults, NOW).build(args, opts)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue", ""),
        ("queue", "a" * 65),
        ("queue", "Upper"),
        ("queue", "a__b"),
        ("queue", "-a"),
        ("queue", "a-"),
        ("queue", "a b"),
        ("priority", 0),
        ("priority", 5),
        ("priority", True),
        ("priority", 1.0),
        ("max_attempts", 0),
        ("max_attempts", -1),
        ("max_attempts", 32768),
        ("scheduled_at", datetime(2026, 1, 1)),
        ("scheduled_at", "2026-01-01T00:00:00Z"),
        ("pending", "yes"),
        ("tags", "abc"),
        ("tags", ["ab"]),
        ("tags", ["a" * 256]),
        ("tags", ["a,bc"]),
        ("tags", ["-abc"]),
        ("tags", ["abc-"]),
        ("tags", ["ab c"]),
        ("tags", ["abé"]),
        ("tags", [1]),
        ("metadata", [1]),
        ("metadata", {"river:x": 1}),
        ("metadata", {1: "x"}),
        ("unique_opts", {"by_args": True}),
    ],
)
def test_each_invalid_option_names_field_and_rule(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        InsertOpts(**{field: value})
    assert err.value.field == field
    assert err.value.rule
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue", "a"),
        ("queue", "a" * 64),
        ("queue", "a_b-c1"),
        ("queue", "a|b"),  # River's regex accepts '|' as a separator; so do we.
        ("priority", 1),
        ("priority", 4),
        ("max_attempts", 1),
        ("tags", ["abc", "a-b_c", "a" * 255]),
        ("metadata", {"riverx": 1, "x": {"river:y": 1}}),
    ],
)
def test_valid_options(field: str, value: Any) -> None:
    InsertOpts(**{field: value})


def test_naive_datetime_rejected_with_reason() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        InsertOpts(scheduled_at=datetime(2026, 1, 1))


def test_scheduled_at_normalized_to_utc() -> None:
    plus = timezone(timedelta(hours=5, minutes=30))
    opts = InsertOpts(scheduled_at=datetime(2026, 1, 2, 10, 51, 5, 678900, tzinfo=plus))
    assert opts.scheduled_at == datetime(2026, 1, 2, 5, 21, 5, 678900, tzinfo=UTC)
    assert opts.scheduled_at.tzinfo is UTC


def test_client_defaults_validated() -> None:
    with pytest.raises(ValidationError, match="queue"):
        ClientDefaults(queue="Bad")
    with pytest.raises(ValidationError, match="priority"):
        ClientDefaults(priority=9)
    with pytest.raises(ValidationError, match="max_attempts"):
        ClientDefaults(max_attempts=0)


def test_kind_length() -> None:
    build(RawArgs("k" * 127, {}))
    for kind in ("", "k" * 128):
        with pytest.raises(ValidationError, match="kind"):
            build(RawArgs(kind, {}))


@pytest.mark.parametrize(
    "args", [NotAKind(1), {"id": 1}, RawArgs("k", "[]"), RawArgs("k", "1"), RawArgs("k", "NaN"), RawArgs("k", b"{")]
)
def test_bad_args(args: Any) -> None:
    with pytest.raises(ValidationError) as err:
        build(args)
    assert err.value.field == "args"


def test_defaults() -> None:
    p = build(Simple(id=42))
    assert (p.kind, p.args, p.queue, p.priority, p.max_attempts) == (
        "conformance_simple",
        b'{"id":42}',
        "default",
        1,
        25,
    )
    assert (p.state, p.scheduled_at, p.created_at, p.tags, p.metadata) == (JobState.AVAILABLE, NOW, NOW, (), b"{}")
    assert (p.unique_key, p.unique_states) == (None, None)


def test_each_option_alone() -> None:
    at = datetime(2020, 1, 1, tzinfo=UTC)
    assert build(Simple(1), InsertOpts(queue="q")).queue == "q"
    assert build(Simple(1), InsertOpts(priority=4)).priority == 4
    assert build(Simple(1), InsertOpts(max_attempts=2)).max_attempts == 2
    scheduled = build(Simple(1), InsertOpts(scheduled_at=at))
    assert (scheduled.state, scheduled.scheduled_at) == (JobState.SCHEDULED, at)
    pending = build(Simple(1), InsertOpts(pending=True))
    assert (pending.state, pending.scheduled_at) == (JobState.PENDING, NOW)
    assert build(Simple(1), InsertOpts(pending=False)).state is JobState.AVAILABLE
    assert build(Simple(1), InsertOpts(tags=["abc"])).tags == ("abc",)
    assert build(Simple(1), InsertOpts(metadata={"b": 1, "a": "<"})).metadata == b'{"b":1,"a":"\\u003c"}'
    unique = build(Simple(1), InsertOpts(unique_opts=UniqueOpts(by_queue=True)))
    assert unique.unique_states == 245
    assert unique.unique_key is not None


def test_precedence() -> None:
    client = ClientDefaults(queue="client_q", priority=2, max_attempts=7)
    kind = build(WithDefaults(1), defaults=client)
    assert (kind.queue, kind.priority, kind.max_attempts, kind.tags) == ("kind_q", 3, 9, ("kind_tag",))
    assert (kind.metadata, kind.state) == (b'{"from":"kind"}', JobState.PENDING)
    given_opts = build(
        WithDefaults(1),
        InsertOpts(queue="mine", priority=1, max_attempts=1, tags=[], metadata={}, pending=False),
        defaults=client,
    )
    assert (given_opts.queue, given_opts.priority, given_opts.max_attempts) == ("mine", 1, 1)
    assert (given_opts.tags, given_opts.metadata, given_opts.state) == ((), b"{}", JobState.AVAILABLE)
    plain = build(Simple(1), defaults=client)
    assert (plain.queue, plain.priority, plain.max_attempts) == ("client_q", 2, 7)
    raw = build(RawArgs("r", {}, InsertOpts(queue="raw_q")), defaults=client)
    assert raw.queue == "raw_q"


def test_unique_vectors_through_build() -> None:
    period = build(Simple(42), InsertOpts(unique_opts=UniqueOpts(by_period=timedelta(minutes=90))))
    assert period.unique_key is not None
    assert period.unique_key.hex() == "5396f06a082abd7a929915135ebd363a9a47d800176b03ce7736f93a5ba9e22e"
    full = build(
        Simple(42),
        InsertOpts(
            queue="priority_emails",
            scheduled_at=datetime(2026, 1, 2, 5, 21, 5, 678900, tzinfo=UTC),
            unique_opts=UniqueOpts(
                by_args=True,
                by_period=timedelta(minutes=1),
                by_queue=True,
                by_state=(
                    JobState.AVAILABLE,
                    JobState.COMPLETED,
                    JobState.PENDING,
                    JobState.RUNNING,
                    JobState.SCHEDULED,
                ),
            ),
        ),
    )
    assert full.unique_key is not None
    assert full.unique_key.hex() == "6f20262e7b1fa9beaf98255f23030800376636484a98b20c2c04a303bab5a8d5"
    assert full.unique_states == 213
    # The queue in the key is the resolved one, including a kind's default.
    by_queue = UniqueOpts(by_queue=True, exclude_kind=True)
    assert (
        build(WithDefaults(1), InsertOpts(unique_opts=by_queue)).unique_key
        == build(Simple(1), InsertOpts(queue="kind_q", unique_opts=by_queue)).unique_key
    )


def test_now_must_be_aware() -> None:
    with pytest.raises(ValidationError, match="now"):
        InsertResolver(DEFAULTS, datetime(2026, 1, 1))


def test_batch_arrays_and_copy_rows() -> None:
    rows = [build(Simple(1), InsertOpts(tags=["abc", "def"])), build(Simple(2), InsertOpts(pending=True))]
    arrays = batch_arrays(rows)
    assert arrays["tags"] == ["abc,def", ""]
    assert arrays["args"] == ['{"id":1}', '{"id":2}']
    assert arrays["state"] == ["available", "pending"]
    assert copy_row(rows[0])[-1] == ["abc", "def"]
    with pytest.raises(ValidationError, match="insert_many_fast"):
        copy_row(build(Simple(1), InsertOpts(unique_opts=UniqueOpts(by_args=True))))
    assert notify_queues_of_params([*rows, build(Simple(3), InsertOpts(queue="b"))]) == ["default", "b"]


def test_split_item() -> None:
    opts = InsertOpts(queue="q")
    assert split_item(Simple(1)) == InsertManyParams(Simple(1))
    assert split_item((Simple(1), opts)) == InsertManyParams(Simple(1), opts)
    assert split_item(InsertManyParams(Simple(1), opts)) == InsertManyParams(Simple(1), opts)
    with pytest.raises(ValidationError, match="insert_many"):
        split_item((Simple(1), opts, opts))  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), max_size=30))
def test_fold_duplicates_one_row_per_key(batch: list[tuple[int, bool]]) -> None:
    unique = InsertOpts(unique_opts=UniqueOpts(by_args=True))
    params = [build(Simple(n), unique if u else None) for n, u in batch]
    folded = fold_duplicates(params)
    keys = [p.unique_key for p in folded.rows if p.unique_key is not None]
    assert len(keys) == len(set(keys))
    assert len(folded.rows) == len({n for n, u in batch if u}) + sum(1 for _, u in batch if not u)
    for i, p in enumerate(params):
        assert folded.rows[folded.sources[i]] == p
        first = next(j for j, q in enumerate(params) if q == p) if p.unique_key is not None else i
        assert folded.repeats[i] is (first != i)


def _stored(job_id: int, ord_: int, *, duplicate: bool = False) -> dict[str, Any]:
    """One row of job_insert_many.sql."""
    return {
        "ord": ord_,
        "id": job_id,
        "state": "available",
        "attempt": 0,
        "max_attempts": 25,
        "attempted_at": None,
        "attempted_by": None,
        "created_at": NOW,
        "errors": None,
        "finalized_at": None,
        "kind": "k",
        "metadata": {},
        "args": {},
        "priority": 1,
        "queue": "default",
        "scheduled_at": NOW,
        "tags": [],
        "unique_key": None,
        "unique_states": None,
        "unique_skipped_as_duplicate": duplicate,
    }


def test_results_are_placed_by_ordinal_not_by_row_order() -> None:
    unique = InsertOpts(unique_opts=UniqueOpts(by_args=True))
    batch = fold_duplicates([build(Simple(1)), build(Simple(2), unique), build(Simple(3)), build(Simple(2), unique)])
    # Three statement rows (the repeat is folded), returned in an order of their own.
    stored = [_stored(30, 3), _stored(7, 2, duplicate=True), _stored(10, 1)]
    results = results_in_input_order(batch, stored)
    outcomes = [(r.job.id, r.unique_skipped_as_duplicate) for r in results]
    assert outcomes == [(10, False), (7, True), (30, False), (7, True)]


@pytest.mark.parametrize("ordinals", [[1, 2], [1, 1, 2], [1, 2, 2], [0, 1, 2], [1, 2, 4], [1, 2, 3, 3]], ids=str)
def test_a_missing_or_repeated_ordinal_is_an_error(ordinals: list[int]) -> None:
    batch = fold_duplicates([build(Simple(n)) for n in range(3)])
    with pytest.raises(RiverboatError, match="insert returned"):
        results_in_input_order(batch, [_stored(100 + i, o) for i, o in enumerate(ordinals)])


def test_encode_args_and_kind() -> None:
    assert kind_of(Simple(1)) == "conformance_simple"
    assert encode_args(RawArgs("k", '{"b":1, "a":2}')) == b'{"b":1,"a":2}'
    assert encode_args(RawArgs("k", {"x": "\u2028"})) == b'{"x":"\\u2028"}'
    assert args_json_schema(Simple)["properties"] == {"id": {"title": "Id", "type": "integer"}}


# spec/03-insert.md#json-text, its table.
@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('{ "z" : 1,\n  "a" : [ 3 , 2.50 , 1e2 ] }', b'{"z":1,"a":[3,2.50,1e2]}'),
        ('{"m": {"y" : "<b> & \\u00e9 \\/"}}', b'{"m":{"y":"\\u003cb\\u003e \\u0026 \\u00e9 \\/"}}'),
        ('{"a":1,"a":2}', b'{"a":1,"a":2}'),
        ('\t{"s":" \\" \\\\ ",\r\n"u":"\u2028\u2029é😀"} ', '{"s":" \\" \\\\ ","u":"\\u2028\\u2029é😀"}'.encode()),
    ],
)
def test_json_text_is_compacted_as_river_go_stores_it(text: str, stored: bytes) -> None:
    assert encode_args(RawArgs("k", text)) == stored
    assert encode_args(RawArgs("k", text.encode())) == stored


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b'{"a":"\xff"}', "json"),  # not UTF-8
        ('{"a":"\ud800"}', "json"),  # a lone surrogate is not UTF-8 text
        ('\ufeff{"a":1}', "json"),
        ('{"a":1,}', "json"),
        ('{"a":NaN}', "json"),
        ("[" * 100_000, "json"),
        ('[{"a":1}]', "type"),
        ('"{}"', "type"),
    ],
)
def test_bad_json_text(raw: str | bytes, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        encode_args(RawArgs("k", raw))
    assert (err.value.field, err.value.rule) == ("args", rule)


_plain_keys = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=4)
_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _plain_keys),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_plain_keys, inner, max_size=3)),
    max_leaves=10,
)


@given(st.dictionaries(_plain_keys, _plain, max_size=5), st.sampled_from([None, 0, 2, "\t"]))
def test_json_text_of_a_value_is_stored_as_the_value_is(value: dict[str, Any], indent: int | str | None) -> None:
    # Python writes these values as Go does, up to whitespace and the HTML escapes.
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert encode_args(RawArgs("k", text)) == encode_args(RawArgs("k", value))


NUL_ARGS: list[Any] = [
    RawArgs("k", {"s": "a\x00b"}),
    RawArgs("k", {"a\x00": 1}),
    RawArgs("k", {"deep": [{"x": ["\x00"]}]}),
    RawArgs("k", '{"s":"a\\u0000b"}'),
    RawArgs("k", '{"k\\u0000":1}'),
    RawArgs("k", '{"s":"\\\\\\u0000"}'),  # an escaped backslash, then the escape of U+0000
    Simple(id="\x00"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("args", NUL_ARGS)
def test_nul_in_args_is_refused_before_sending(args: Any) -> None:
    with pytest.raises(ValidationError) as err:
        build(args)
    assert (err.value.field, err.value.rule) == ("args", "json")


@pytest.mark.parametrize("metadata", [{"s": "a\x00"}, {"a\x00": 1}, {"n": {"deep": ["\x00"]}}])
def test_nul_in_metadata_is_refused_before_sending(metadata: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        build(Simple(1), InsertOpts(metadata=metadata))
    assert (err.value.field, err.value.rule) == ("metadata", "json")
    with pytest.raises(ValidationError) as err:
        InsertResolver(DEFAULTS, NOW).build(Simple(1), None, metadata)
    assert (err.value.field, err.value.rule) == ("metadata", "json")


def test_text_that_only_looks_like_a_nul_escape_is_stored() -> None:
    # "\\u0000" is an escaped backslash followed by the letters u0000.
    assert encode_args(RawArgs("k", '{"s":"\\\\u0000"}')) == b'{"s":"\\\\u0000"}'
    assert build(Simple(1), InsertOpts(metadata={"s": "\\u0000"})).metadata == b'{"s":"\\\\u0000"}'
    assert encode_args(RawArgs("k", {"s": "\x01\u0100"})) == '{"s":"\\u0001\u0100"}'.encode()
