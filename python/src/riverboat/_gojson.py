"""Job args as Go's ``encoding/json`` writes them (spec/04-unique.md, "Args encoding").

The bytes must equal ``json.Marshal`` of the equivalent Go value, because unique keys hash
them and River Go must compute the same key for the same job. Python values map to Go
values as follows: dicts with str keys and dataclasses are structs (members in insertion
or declaration order, never sorted); ints are integers of any size; floats are float64;
datetimes are ``time.Time``; Decimal is ``json.Number``; bytes are ``[]byte`` (base64).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import json
import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

from riverboat.errors import ValidationError

# Characters Go escapes inside strings (json.Marshal escapes HTML characters too).
_STRING_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_STRING_ESCAPES.update(
    {
        ord("\b"): "\\b",
        ord("\f"): "\\f",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
        ord("<"): "\\u003c",
        ord(">"): "\\u003e",
        ord("&"): "\\u0026",
        0x2028: "\\u2028",
        0x2029: "\\u2029",
    }
)
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029]').search


def _string(s: str) -> str:
    if _NEEDS_ESCAPE(s) is None:
        return '"' + s + '"'
    return '"' + s.translate(_STRING_ESCAPES) + '"'


def _float(f: float, path: str) -> str:
    """float64 as Go writes it: shortest digits; exponent form below 1e-6 and from 1e21."""
    if math.isnan(f) or math.isinf(f):
        raise ValidationError(path, "json", "must be a finite number (JSON has no NaN or Infinity)", f)
    r = repr(f)
    a = abs(f)
    exp_form = a != 0 and (a < 1e-6 or a >= 1e21)
    if "e" not in r and not exp_form:
        return r[:-2] if r.endswith(".0") else r
    # repr gives the same shortest round-trip digits as Go; only the layout differs.
    sign = "-" if f < 0 else ""
    mantissa, _, exp_text = r.lstrip("-").partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    digits = all_digits.lstrip("0")
    # The decimal point sits after `point` digits of `digits`.
    point = len(int_part) + int(exp_text or 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0") or "0"
    if exp_form:
        exp = point - 1
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        # strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7".
        return f"{sign}{body}e-{-exp}" if exp < 0 else f"{sign}{body}e+{exp:02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _int(i: int) -> str:
    try:
        return int.__repr__(i)
    except ValueError:
        # Past CPython's int-to-str digit limit; Decimal converts without it.
        return str(Decimal(i))


def _datetime(d: _dt.datetime, path: str) -> str:
    """time.Time's JSON: RFC 3339 with trailing fraction zeros trimmed, Z for offset zero."""
    offset = d.utcoffset()
    if offset is None:
        raise ValidationError(path, "format", "datetime must be timezone-aware", d)
    seconds = int(offset.total_seconds())
    if offset.microseconds or seconds % 60:
        raise ValidationError(path, "format", "timezone offset must be a whole number of minutes", d)
    text = (
        d.strftime("%Y-%m-%dT%H:%M:%S")
        if d.year >= 1000
        else (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}")
    )
    if d.microsecond:
        text += f".{d.microsecond:06d}".rstrip("0")
    if seconds == 0:
        return f'"{text}Z"'
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f'"{text}{sign}{hours:02d}:{minutes:02d}"'


def _decimal(d: Decimal, path: str) -> str:
    if not d.is_finite():
        raise ValidationError(path, "json", "must be a finite number (JSON has no NaN or Infinity)", d)
    return str(d)


def _encode(value: object, path: str, out: list[str]) -> None:
    # Exact-type checks first: they are the hot path; subclasses fall through below.
    t = type(value)
    if t is str:
        out.append(_string(value))  # type: ignore[arg-type]
    elif t is int:
        out.append(_int(value))  # type: ignore[arg-type]
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif t is float:
        out.append(_float(value, path))  # type: ignore[arg-type]
    elif t is dict:
        _object(value.items(), path, out)  # type: ignore[attr-defined]
    elif t is list or t is tuple:
        _array(value, path, out)  # type: ignore[arg-type]
    elif isinstance(value, Enum):
        _encode(value.value, path, out)
    elif isinstance(value, str):
        out.append(_string(str(value)))
    elif isinstance(value, int):
        out.append(_int(int(value)))
    elif isinstance(value, float):
        out.append(_float(float(value), path))
    elif isinstance(value, dict):
        _object(value.items(), path, out)
    elif isinstance(value, (list, tuple)):
        _array(value, path, out)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _object(((name, getattr(value, attr)) for name, attr in _struct(t).members), path, out)
    elif isinstance(value, _dt.datetime):
        out.append(_datetime(value, path))
    elif isinstance(value, _dt.date):
        out.append(f'"{value.isoformat()}"')
    elif isinstance(value, Decimal):
        out.append(_decimal(value, path))
    elif isinstance(value, uuid.UUID):
        out.append(f'"{value}"')
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append('"' + base64.b64encode(value).decode("ascii") + '"')
    else:
        raise ValidationError(path, "json", f"type {t.__name__} has no JSON encoding (see spec/04-unique.md)", value)


def _object(items: object, path: str, out: list[str]) -> None:
    out.append("{")
    first = True
    for key, item in items:  # type: ignore[attr-defined]
        if not isinstance(key, str):
            raise ValidationError(path, "type", "object keys must be strings", key)
        if not first:
            out.append(",")
        first = False
        out.append(_string(str(key)))
        out.append(":")
        _encode(item, f"{path}.{key}", out)
    out.append("}")


def _array(items: list[object] | tuple[object, ...], path: str, out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(items):
        if i:
            out.append(",")
        _encode(item, f"{path}[{i}]", out)
    out.append("]")


def _utf16_repair(text: str) -> str:
    """Join surrogate pairs and turn lone surrogates into U+FFFD, as Go's decoder does."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class _Struct(NamedTuple):
    """A dataclass as a Go struct: its (JSON member name, attribute) pairs in declaration
    order, and whether the names are distinct (then it can stand as a dict)."""

    members: tuple[tuple[str, str], ...]
    distinct_names: bool


_structs: dict[type, _Struct] = {}


def _struct(cls: type) -> _Struct:
    struct = _structs.get(cls)
    if struct is None:
        members = tuple((f.metadata.get("json", f.name), f.name) for f in dataclasses.fields(cls))
        struct = _structs[cls] = _Struct(members, len({name for name, _ in members}) == len(members))
    return struct


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _is_plain(value: object) -> bool:
    """Only exact dicts with str keys, lists, tuples, str, int, bool and None: values the
    standard library's encoder writes byte for byte as Go does, up to the escapes that
    ``_PLAIN_FIXUPS`` adds. Floats are not plain: their layout differs from Go's."""
    t = type(value)
    if t is dict:
        # Scalars are checked inline: most args are a flat object, and a call per member costs.
        for k, v in value.items():  # type: ignore[attr-defined]
            if type(k) is not str or (type(v) not in _PLAIN_SCALARS and not _is_plain(v)):
                return False
        return True
    if t is list or t is tuple:
        return all(type(v) in _PLAIN_SCALARS or _is_plain(v) for v in value)  # type: ignore[attr-defined]
    return t in _PLAIN_SCALARS


# The standard library escapes control characters, quote and backslash exactly as Go does;
# Go also escapes these, which can only occur inside strings.
_PLAIN_FIXUPS = {c: _STRING_ESCAPES[c] for c in (ord("<"), ord(">"), ord("&"), 0x2028, 0x2029)}
_NEEDS_FIXUP = re.compile("[<>&\u2028\u2029]").search
_plain_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_plain_text: Callable[[object], str]
try:
    from _json import encode_basestring, make_encoder
except ImportError:  # an interpreter without CPython's accelerator
    _plain_text = _plain_encoder.encode
else:
    # What ``_plain_encoder.encode`` builds on every call, built once: the same C encoder
    # with the same settings (its Python layers cost more than encoding a small object).
    _plain_chunks = make_encoder(None, _plain_encoder.default, encode_basestring, None, ":", ",", False, False, True)

    def _plain_text(value: object) -> str:
        return "".join(_plain_chunks(value, 0))


# Whitespace between tokens; a string token is matched whole so that its spaces are kept.
_INSIGNIFICANT_WHITESPACE = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+', re.DOTALL)
_HAS_WHITESPACE = re.compile(r"[ \t\n\r]").search


def compact(text: str) -> str:
    """Valid JSON text as ``json.Marshal`` writes a ``MarshalJSON`` result: whitespace
    between tokens removed, HTML characters and U+2028/U+2029 escaped, every other byte
    kept (spec/03-insert.md#json-text). Outside strings those characters can only be
    whitespace, so both steps apply to the whole text."""
    if _HAS_WHITESPACE(text) is not None:
        text = _INSIGNIFICANT_WHITESPACE.sub(r"\1", text)
    return text if _NEEDS_FIXUP(text) is None else text.translate(_PLAIN_FIXUPS)


def _text(value: object, field: str) -> str:
    if _is_plain(value):
        try:
            text = _plain_text(value)
        except ValueError:
            pass  # an int past CPython's int-to-str digit limit: the walk below writes it
        else:
            return text if _NEEDS_FIXUP(text) is None else text.translate(_PLAIN_FIXUPS)
    out: list[str] = []
    _encode(value, field, out)
    return "".join(out)


def encode(value: object, field: str = "args") -> bytes:
    """The bytes Go's ``json.Marshal`` produces for the Go value equivalent to ``value``.

    Raises ValidationError naming the offending path below ``field`` (``args.items[3]``)
    for unsupported types, non-string keys, NaN and infinities, and naive datetimes.
    """
    t = type(value)
    if t is not dict and dataclasses.is_dataclass(t) and (struct := _struct(t)).distinct_names:
        # A struct at the top: its members as an ordered dict, which is usually plain.
        value = {name: getattr(value, attr) for name, attr in struct.members}
    text = _text(value, field)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _utf16_repair(text).encode("utf-8")
