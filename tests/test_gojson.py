"""Args encoding (spec/04-unique.md, "Args encoding"): byte-exact with Go's encoding/json."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riverboat._gojson import _encode, _is_plain, _plain_encoder, _plain_text, _text, compact, encode
from riverboat.errors import ValidationError
from tests.helpers import go_binary


class Color(Enum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


class Mode(StrEnum):
    FAST = "fast"


@dataclasses.dataclass
class Inner:
    when: datetime
    note: str = dataclasses.field(default="", metadata={"json": "Note"})


@dataclasses.dataclass
class Outer:
    z: int
    a: list[Inner]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, b"null"),
        (True, b"true"),
        (False, b"false"),
        (0, b"0"),
        (-17, b"-17"),
        (2**64, b"18446744073709551616"),
        (1.0, b"1"),
        (-0.0, b"-0"),
        (0.1, b"0.1"),
        (1e-6, b"0.000001"),
        (1e-7, b"1e-7"),
        (-2.5e-7, b"-2.5e-7"),
        (1e20, b"100000000000000000000"),
        (1e21, b"1e+21"),
        (1.25e22, b"1.25e+22"),
        (1e100, b"1e+100"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"),
        (5e-324, b"5e-324"),
        (123456.789, b"123456.789"),
        ("", b'""'),
        ("<a href='x'>&</a>", b"\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""),
        ("\u2028\u2029", b'"\\u2028\\u2029"'),
        ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
        ("\x00\x01\x1f\x7f", b'"\\u0000\\u0001\\u001f\x7f"'),
        ('"\\/', b'"\\"\\\\/"'),
        ("é😀ключ", '"é😀ключ"'.encode()),
        ("\ud800x", '"\ufffdx"'.encode()),
        ("\ud83d\ude00", '"😀"'.encode()),
        ([], b"[]"),
        ((1, "a"), b'[1,"a"]'),
        ({}, b"{}"),
        ({"z": 1, "a": {"y": [None]}}, b'{"z":1,"a":{"y":[null]}}'),
        ({"<": 1}, b'{"\\u003c":1}'),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), b'"2026-01-02T03:04:05Z"'),
        (datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC), b'"2026-01-02T03:04:05.6789Z"'),
        (datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=timezone(timedelta(hours=-8))),
         b'"2026-01-02T03:04:05.000001-08:00"'),
        (datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=5, minutes=30))),
         b'"2026-01-02T00:00:00+05:30"'),
        (datetime(5, 1, 2, tzinfo=UTC), b'"0005-01-02T00:00:00Z"'),
        (date(2026, 1, 2), b'"2026-01-02"'),
        (Decimal("1.50"), b"1.50"),
        (Decimal("-1E+3"), b"-1E+3"),
        (uuid.UUID(int=1), b'"00000000-0000-0000-0000-000000000001"'),
        (b"\x00\xff hi", b'"AP8gaGk="'),
        (bytearray(b""), b'""'),
        (Color.RED, b'"red"'),
        (Size.BIG, b"3"),
        (Mode.FAST, b'"fast"'),
        (Outer(2, [Inner(datetime(2026, 1, 2, tzinfo=UTC), "n")]),
         b'{"z":2,"a":[{"when":"2026-01-02T00:00:00Z","Note":"n"}]}'),
    ],
)
def test_encode(value: object, expected: bytes) -> None:
    assert encode(value) == expected


def test_huge_integer_past_the_str_digit_limit() -> None:
    n = 7**20000
    assert encode([n, -n]) == b"[" + str(Decimal(n)).encode() + b",-" + str(Decimal(n)).encode() + b"]"


@pytest.mark.parametrize(
    ("value", "field", "rule"),
    [
        ({"items": [1, 2, 3, float("nan")]}, "args.items[3]", "finite number"),
        ({"x": float("inf")}, "args.x", "finite number"),
        ([Decimal("NaN")], "args[0]", "finite number"),
        ({"at": datetime(2026, 1, 1)}, "args.at", "timezone-aware"),
        ({"at": datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30)))}, "args.at",
         "whole number of minutes"),
        ({"s": {1, 2}}, "args.s", "type set has no JSON encoding"),
        ({"o": object()}, "args.o", "type object has no JSON encoding"),
        ({1: "a"}, "args", "object keys must be strings"),
        ({"a": {None: 1}}, "args.a", "object keys must be strings"),
        (Outer(1, [Inner(datetime(2026, 1, 1))]), "args.a[0].when", "timezone-aware"),
    ],
)
def test_encode_rejects(value: object, field: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as info:
        encode(value)
    assert info.value.field == field


def _json_values(floats: bool = True) -> st.SearchStrategy[Any]:
    text = st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from(
            ["\ud800", "\udfff", "\ud83d", "\ude00", "<", ">", "&", "\u2028", "\u2029", "\x00", "\x1f",
             "\x7f", '"', "\\", "é", "😀", "\ufffd", "a"])),
    )
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**200), max_value=2**200), text)
    if floats:
        leaf |= st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
            [1e-7, 1e21, 1e20, 1e-6, 9.999999999999999e-7, 1.7976931348623157e308, -0.0, 5e-324,
             2.2250738585072014e-308])
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(text, inner, max_size=4)),
                        max_leaves=12)


def go_encodings(values: list[Any]) -> list[bytes]:
    """What Go's encoding/json writes for each value (sent to Go as ASCII JSON text)."""
    lines = b"".join(json.dumps(v).encode() + b"\n" for v in values)
    result = subprocess.run([str(go_binary("gojson"))], input=lines, capture_output=True, check=True)
    out = result.stdout.split(b"\n")[:-1]
    assert len(out) == len(values), result.stderr
    return out


@settings(max_examples=25, deadline=None)
@given(st.lists(_json_values(), min_size=50, max_size=100))
def test_encoding_equals_go(values: list[Any]) -> None:
    assert [encode(v) for v in values] == go_encodings(values)


@settings(max_examples=25, deadline=None)
@given(st.lists(_json_values(floats=False), min_size=50, max_size=100))
def test_plain_values_take_the_standard_encoder_and_equal_go(values: list[Any]) -> None:
    assert all(_is_plain(v) for v in values)
    assert [encode(v) for v in values] == go_encodings(values)


@settings(max_examples=300)
@given(_json_values(floats=False))
def test_standard_encoder_and_walk_agree_on_plain_values(value: Any) -> None:
    walked: list[str] = []
    _encode(value, "args", walked)
    assert _text(value, "args") == "".join(walked)


@given(_json_values(floats=False).filter(_is_plain))
def test_the_prebuilt_c_encoder_writes_what_the_standard_encoder_does(value: Any) -> None:
    """Without CPython's accelerator the standard encoder itself is used: same text."""
    assert _plain_text(value) == _plain_encoder.encode(value)


def test_a_struct_at_the_top_takes_the_standard_encoder() -> None:
    @dataclasses.dataclass
    class Plain:
        b: str
        a: int = dataclasses.field(default=0, metadata={"json": "A"})

    assert encode(Plain("<x>", 2)) == b'{"b":"\\u003cx\\u003e","A":2}'


def go_compactions(texts: list[str]) -> list[bytes]:
    """What Go's json.Marshal writes for each text given as a json.RawMessage."""
    lines = b"".join(t.encode() + b"\n" for t in texts)
    result = subprocess.run([str(go_binary("gojson")), "-raw"], input=lines, capture_output=True, check=True)
    out = result.stdout.split(b"\n")[:-1]
    assert len(out) == len(texts), result.stderr
    return out


def _spaced_text(value: Any, spacing: tuple[str, str], ascii_only: bool) -> str:
    comma, colon = spacing
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(comma, colon))
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only its escape is valid UTF-8
        text = json.dumps(value, separators=(comma, colon))
    return f" {text}\t"


@settings(max_examples=25, deadline=None)
@given(st.lists(
    st.builds(_spaced_text, _json_values(), st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :  ")]),
              st.booleans()),
    min_size=50, max_size=100,
))  # fmt: skip
def test_compaction_of_pre_encoded_args_equals_go(texts: list[str]) -> None:
    assert [compact(t).encode() for t in texts] == go_compactions(texts)


def test_go_oracle_sees_float_and_integer_apart() -> None:
    assert go_encodings([1.0, 1, 1e21, [10**30]]) == [b"1", b"1", b"1e+21", b"[1000000000000000000000000000000]"]


@settings(max_examples=200)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=12,
))
def test_round_trip(value: Any) -> None:
    assert _same(json.loads(encode(value)), value)


def _same(decoded: Any, original: Any) -> bool:
    """Equal, reading a number back as float64 where the original was a float (as Go would)."""
    if isinstance(original, float):
        return isinstance(decoded, (int, float)) and float(decoded) == original
    if isinstance(original, list):
        return (isinstance(decoded, list) and len(decoded) == len(original)
                and all(_same(d, o) for d, o in zip(decoded, original, strict=True)))
    if isinstance(original, dict):
        return (isinstance(decoded, dict) and list(decoded) == list(original)
                and all(_same(decoded[k], original[k]) for k in original))
    return bool(decoded == original) and type(decoded) is type(original)
