"""Unique keys exactly as River Go computes them (spec/04-unique.md).

Everything here is a pure function of its arguments: no database, no clock.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from riverboat._gojson import encode
from riverboat._states import (
    DEFAULT_UNIQUE_STATES,
    REQUIRED_UNIQUE_STATES,
    JobState,
    states_to_mask,
)
from riverboat.errors import ValidationError

DEFAULT_UNIQUE_STATES_MASK = states_to_mask(DEFAULT_UNIQUE_STATES)

# Go's zero time, from which time.Time.Truncate counts periods.
_GO_ZERO_TIME = _dt.datetime(1, 1, 1, tzinfo=_dt.UTC)
_SECOND = _dt.timedelta(seconds=1)


@dataclass(frozen=True)
class UniqueOpts:
    """What makes a job unique. Field meanings and rules follow River's ``UniqueOpts``.

    ``by_args`` is True for all args, or a sequence of dotted paths (``account.id``) selecting
    the args that count; a backslash escapes a literal ``.`` or ``\\`` in a path component.
    """

    by_args: bool | tuple[str, ...] = False
    by_period: _dt.timedelta | None = None
    by_queue: bool = False
    by_state: tuple[JobState, ...] | None = None
    exclude_kind: bool = False

    def __post_init__(self) -> None:
        by_args: object = self.by_args
        if not isinstance(by_args, bool):
            if isinstance(by_args, str) or not isinstance(by_args, Sequence):
                raise ValidationError(
                    "unique_opts.by_args", "type", "must be a bool or a sequence of dotted paths", by_args
                )
            paths = tuple(by_args)
            for path in paths:
                _split_path(path)
            object.__setattr__(self, "by_args", paths)
        if self.by_period is not None:
            if not isinstance(self.by_period, _dt.timedelta):
                raise ValidationError("unique_opts.by_period", "type", "must be a timedelta", self.by_period)
            if self.by_period < _SECOND:
                raise ValidationError("unique_opts.by_period", "range", "must be at least 1 second", self.by_period)
            if self.by_period % _SECOND:
                # Then the period's bound depends only on whole seconds, whatever a clock's precision.
                raise ValidationError(
                    "unique_opts.by_period", "range", "must be a whole number of seconds", self.by_period
                )
        if self.by_state is not None:
            if isinstance(self.by_state, str):
                raise ValidationError("unique_opts.by_state", "type", "must be a sequence of job states", self.by_state)
            try:
                states = tuple(JobState(s) for s in self.by_state)
            except ValueError:
                raise ValidationError(
                    "unique_opts.by_state", "unknown_state", "must contain only known job states", self.by_state
                ) from None
            missing = [s.value for s in REQUIRED_UNIQUE_STATES if s not in states]
            if missing:
                raise ValidationError(
                    "unique_opts.by_state",
                    "required_states",
                    f"must include available, pending, running and scheduled (missing {', '.join(missing)})",
                    self.by_state,
                )
            object.__setattr__(self, "by_state", states)
        if self.exclude_kind and not (self.by_args or self.by_queue or self.by_period):
            raise ValidationError(
                "unique_opts.exclude_kind", "requires_dimension", "requires by_args, by_period or by_queue", True
            )

    @property
    def is_unique(self) -> bool:
        """Whether these options make a job unique at all."""
        return bool(self.by_args) or bool(self.by_period) or self.by_queue or (self.by_state is not None)


def unique_states_mask(opts: UniqueOpts) -> int:
    """The ``unique_states`` bitmask: 245 (River's default) unless ``by_state`` is set."""
    if opts.by_state:
        return states_to_mask(opts.by_state)
    return DEFAULT_UNIQUE_STATES_MASK


def period_lower_bound(at: _dt.datetime, period: _dt.timedelta) -> _dt.datetime:
    """Start of the period containing ``at``, counting periods (whole seconds) from Go's
    zero time, in UTC: only the whole seconds of ``at`` matter."""
    if at.utcoffset() is None:
        raise ValidationError("scheduled_at", "format", "must be timezone-aware", at)
    since_zero = (at - _GO_ZERO_TIME) // _SECOND
    step = period // _SECOND
    return _GO_ZERO_TIME + _dt.timedelta(seconds=since_zero - since_zero % step)


def unique_key(
    *,
    kind: str,
    encoded_args: bytes,
    queue: str,
    opts: UniqueOpts,
    scheduled_at: _dt.datetime | None,
    now: _dt.datetime,
) -> bytes:
    """The raw 32-byte SHA-256 unique key River Go stores for this job."""
    parts: list[bytes] = []
    if not opts.exclude_kind:
        parts.append(b"&kind=" + kind.encode())
    if opts.by_args:
        selected = opts.by_args if isinstance(opts.by_args, tuple) else None
        parts.append(b"&args=" + canonical_args(encoded_args, selected))
    if opts.by_period:
        bound = period_lower_bound(scheduled_at or now, opts.by_period)
        parts.append(b"&period=" + bound.strftime("%Y-%m-%dT%H:%M:%SZ").encode())
    if opts.by_queue:
        parts.append(b"&queue=" + queue.encode())
    return hashlib.sha256(b"".join(parts)).digest()


def canonical_args(encoded_args: bytes, selected: tuple[str, ...] | None) -> bytes:
    """The args as they enter the unique key (spec/04-unique.md, "Canonical args").

    Without ``selected``: top-level members sorted by key bytes, first duplicate winning,
    values copied byte for byte. With ``selected``: only those paths, set into an empty
    object in sorted path order; empty bytes when none of them is present.
    """
    start = _skip_ws(encoded_args, 0)
    if start >= len(encoded_args) or encoded_args[start] != _LBRACE:
        raise ValidationError("args", "type", "must encode a JSON object", encoded_args[:40])
    if selected is None:
        members: dict[str, bytes] = {}
        for _raw_key, key, v_start, v_end in _members(encoded_args, start):
            members.setdefault(key, encoded_args[v_start:v_end])
        ordered = sorted(members.items(), key=lambda kv: _go_order(kv[0]))
        return b"{" + b",".join(_canonical_key(k) + b":" + v for k, v in ordered) + b"}"
    out: _Object | None = None
    for components in sorted((_split_path(p) for p in selected), key=_path_order):
        raw = _lookup(encoded_args, start, components)
        if raw is None:
            continue
        if out is None:
            out = _Object()
        out.set(components, raw)
    return b"" if out is None else out.render()


def _go_order(key: str) -> bytes:
    """Go compares strings by their UTF-8 bytes."""
    return key.encode("utf-8", "surrogatepass")


def _path_order(components: list[str]) -> tuple[bytes, bytes]:
    # River sorts by the joined components, then by the escaped path text.
    escaped = ".".join(c.replace("\\", "\\\\").replace(".", "\\.") for c in components)
    return _go_order(".".join(components)), _go_order(escaped)


def _canonical_key(key: str) -> bytes:
    """A key as River writes it: verbatim when plain ASCII, else as Go encodes the string."""
    if _PLAIN_KEY(key) is not None:
        return b'"' + key.encode("ascii") + b'"'
    return encode(key, "args key")


_PLAIN_KEY = re.compile("[ !#-\\[\\]-\x7f]*").fullmatch


# Components River's path setter reads as array positions (ASCII digits index, -1 appends).
_ARRAY_INDEX = re.compile("[0-9]+|-1").fullmatch


def _split_path(path: object) -> list[str]:
    """Components of a dotted path; a backslash makes the next character literal."""
    if not isinstance(path, str) or not path:
        raise ValidationError("unique_opts.by_args", "path", "each path must be a non-empty string", path)
    components: list[str] = []
    current: list[str] = []
    chars = iter(path)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch == ".":
            components.append("".join(current))
            current = []
        else:
            current.append(ch)
    components.append("".join(current))
    for component in components:
        if not component or _ARRAY_INDEX(component) is not None:
            raise ValidationError(
                "unique_opts.by_args",
                "path",
                "path components must be non-empty object keys, not array indexes",
                path,
            )
    return components


class _Object:
    """An object under construction from raw member values, for selected-path args."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: list[tuple[str, bytes, _Object | bytes]] = []

    @classmethod
    def from_raw(cls, data: bytes) -> _Object:
        # Setting a path below a non-object value replaces that value with a new object.
        obj = cls()
        start = _skip_ws(data, 0)
        if start < len(data) and data[start] == _LBRACE:
            for raw_key, key, v_start, v_end in _members(data, start):
                obj.members.append((key, raw_key, data[v_start:v_end]))
        return obj

    def set(self, components: list[str], raw: bytes) -> None:
        head, rest = components[0], components[1:]
        for i, (key, raw_key, value) in enumerate(self.members):
            if key == head:
                if not rest:
                    self.members[i] = (key, raw_key, raw)
                    return
                child = value if isinstance(value, _Object) else _Object.from_raw(value)
                self.members[i] = (key, raw_key, child)
                child.set(rest, raw)
                return
        new: _Object | bytes = raw
        if rest:
            new = _Object()
            new.set(rest, raw)
        self.members.append((head, _canonical_key(head), new))

    def render(self) -> bytes:
        return (
            b"{"
            + b",".join(
                raw_key + b":" + (value.render() if isinstance(value, _Object) else value)
                for _key, raw_key, value in self.members
            )
            + b"}"
        )


# A tolerant scanner over JSON bytes: it finds member and value spans without building values.
_LBRACE, _RBRACE, _LBRACKET, _QUOTE = b'{}["'
_WS = re.compile(rb"[ \t\r\n]*")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(rb"[^,:\]}\s]*")
_CONTAINER_STOP = re.compile(rb'["\[\]{}]')
_MEMBER = re.compile(
    rb'[ \t\r\n,]*("(?:[^"\\]|\\.)*")[ \t\r\n]*:?[ \t\r\n]*("(?:[^"\\]|\\.)*"|[^,\]}\s\[{"]*)', re.DOTALL
)


def _skip_ws(data: bytes, i: int) -> int:
    m = _WS.match(data, i)
    return m.end() if m else i


def _value_end(data: bytes, i: int) -> int:
    """End of the JSON value starting at ``i`` (tolerant: stops at the end of the data)."""
    if i >= len(data):
        return i
    c = data[i]
    if c == _QUOTE:
        m = _STRING.match(data, i)
        return m.end() if m else len(data)
    if c not in (_LBRACE, _LBRACKET):
        m = _SCALAR.match(data, i)
        return m.end() if m else i
    depth = 0
    pos = i
    while True:
        m = _CONTAINER_STOP.search(data, pos)
        if m is None:
            return len(data)
        ch = data[m.start()]
        if ch == _QUOTE:
            s = _STRING.match(data, m.start())
            if s is None:
                return len(data)
            pos = s.end()
            continue
        pos = m.end()
        if ch in (_LBRACE, _LBRACKET):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos


def _decode_key(raw_key: bytes) -> str:
    if b"\\" not in raw_key:
        return raw_key[1:-1].decode("utf-8", "replace")
    try:
        decoded = json.loads(raw_key)
    except ValueError:
        return raw_key[1:-1].decode("utf-8", "replace")
    return decoded if isinstance(decoded, str) else ""


def _members(data: bytes, start: int) -> Iterator[tuple[bytes, str, int, int]]:
    """(raw key, decoded key, value start, value end) of each member of the object at ``start``."""
    i = start + 1
    n = len(data)
    while True:
        m = _MEMBER.match(data, i)
        if m is None:
            i = _skip_ws(data, i)
            if i < n and data[i] != _RBRACE:
                raise ValidationError("args", "type", "object keys must be strings", data[i : i + 20])
            return
        raw_key = m.group(1)
        v_start = m.start(2)
        # Scalars end inside the match; containers need the bracket-counting scan.
        v_end = m.end(2) if m.end(2) > v_start else _value_end(data, v_start)
        yield raw_key, _decode_key(raw_key), v_start, v_end
        i = v_end


def _lookup(data: bytes, start: int, components: list[str]) -> bytes | None:
    """Raw bytes of the value at ``components`` (first matching key at each level), if any."""
    pos = start
    for component in components:
        if pos >= len(data) or data[pos] != _LBRACE:
            return None
        for _raw_key, key, v_start, _v_end in _members(data, pos):
            if key == component:
                pos = v_start
                break
        else:
            return None
    return data[pos : _value_end(data, pos)]
