"""How a job kind is defined, and how job args become the JSON River stores (spec/03-insert.md,
"Job args"; spec/05-args-contract.md).

A kind is a dataclass with a ``kind`` class attribute; its fields are the args::

    @dataclass
    class SendEmail:
        kind: ClassVar[str] = "send_email"
        insert_opts: ClassVar[InsertOpts] = InsertOpts(queue="email")  # optional defaults
        to: str
        subject: str

Its JSON Schema is derived from the type hints (pydantic), unless the class supplies its
own as ``json_schema: ClassVar[dict[str, Any]]``. Kinds defined elsewhere (another
service, another language) are inserted as ``RawArgs(kind, {...})``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias

from pydantic import TypeAdapter

from riverboat._gojson import compact, encode
from riverboat._rules import validate_storable_json
from riverboat.errors import ValidationError

if TYPE_CHECKING:
    from riverboat._insert import InsertOpts  # a runtime import would be circular


class JobArgs(Protocol):
    """A kind's args: any dataclass with a ``kind`` class attribute."""

    kind: ClassVar[str]


@dataclass(frozen=True)
class RawArgs:
    """Args of a kind defined elsewhere: a mapping, or JSON text of an object, which is
    stored compacted as River Go stores a ``json.RawMessage`` (spec/03-insert.md#json-text);
    those bytes also feed the unique key."""

    kind: str
    args: Mapping[str, Any] | str | bytes
    insert_opts: InsertOpts | None = None


ArgsLike: TypeAlias = JobArgs | RawArgs

_NOT_ARGS = "must be a dataclass instance with a `kind` class attribute, or RawArgs(kind, args)"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def kind_of(args: ArgsLike) -> str:
    """The kind of ``args``."""
    if isinstance(args, RawArgs):
        return args.kind
    kind = getattr(type(args), "kind", None)
    if not dataclasses.is_dataclass(args) or isinstance(args, type) or not isinstance(kind, str):
        raise ValidationError("args", "type", _NOT_ARGS, args)
    return kind


def _json_text(raw: str | bytes) -> bytes:
    """JSON text of an object, compacted as Go's ``json.Marshal`` compacts it."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant)
        encoded = compact(text).encode("utf-8")  # fails for a str holding a lone surrogate
    except (ValueError, RecursionError) as exc:
        raise ValidationError("args", "json", f"must be UTF-8 JSON text: {exc}") from exc
    if not isinstance(value, dict):
        raise ValidationError("args", "type", "must be a JSON object")
    return encoded


def encode_args(args: ArgsLike) -> bytes:
    """The args as stored and hashed: Go ``encoding/json`` bytes of a JSON object that
    ``jsonb`` can hold."""
    if isinstance(args, RawArgs):
        raw = args.args
        if type(raw) is dict:
            # The usual case, ahead of the ABC check below (which costs more than encoding).
            encoded = encode(raw)
        elif isinstance(raw, str | bytes):
            encoded = _json_text(raw)
        elif isinstance(raw, Mapping):
            encoded = encode(dict(raw))
        else:
            raise ValidationError("args", "type", "must be a JSON object (a mapping) or JSON text", raw)
    else:
        kind_of(args)
        encoded = encode(args)
        if not encoded.startswith(b"{"):
            raise ValidationError("args", "type", "must encode to a JSON object", args)
    return validate_storable_json("args", encoded)


def args_json_schema(cls: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a kind's args: the class's own ``json_schema`` if it has one,
    else derived from its type hints by pydantic."""
    own = getattr(cls, "json_schema", None)
    if own is not None:
        if not isinstance(own, Mapping):
            raise ValidationError("json_schema", "type", "must be a JSON Schema object", own)
        return dict(own)
    schema: dict[str, Any] = TypeAdapter(cls).json_schema()
    return schema
