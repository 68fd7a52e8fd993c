"""The job-args contract (spec/05-args-contract.md): a JSON document mapping each kind to the
JSON Schema of its args and to its insert defaults, so services in any language agree on
what a kind's args look like. Its meta-schema is schema/json/job-args-contract.schema.json.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from riverboat._insert import InsertOpts
from riverboat._package_data import schema_files
from riverboat._rules import validate_kind
from riverboat._states import JobState
from riverboat._time import format_time, parse_time
from riverboat._unique import UniqueOpts
from riverboat.args import ArgsLike, RawArgs, args_json_schema
from riverboat.errors import ArgsContractError, UnknownKindError, ValidationError

CONTRACT_VERSION = 1


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def unique_opts_to_json(opts: UniqueOpts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if opts.by_args:
        out["by_args"] = opts.by_args if isinstance(opts.by_args, bool) else list(opts.by_args)
    if opts.by_period is not None:
        out["by_period_seconds"] = opts.by_period.total_seconds()
    if opts.by_queue:
        out["by_queue"] = True
    if opts.by_state is not None:
        out["by_state"] = [JobState(s).value for s in opts.by_state]
    if opts.exclude_kind:
        out["exclude_kind"] = True
    return out


def unique_opts_from_json(doc: Mapping[str, Any]) -> UniqueOpts:
    by_args = doc.get("by_args", False)
    period = doc.get("by_period_seconds")
    states = doc.get("by_state")
    return UniqueOpts(
        by_args=by_args if isinstance(by_args, bool) else tuple(by_args),
        by_period=None if period is None else timedelta(seconds=period),
        by_queue=bool(doc.get("by_queue", False)),
        by_state=None if states is None else tuple(JobState(s) for s in states),
        exclude_kind=bool(doc.get("exclude_kind", False)),
    )


def insert_opts_to_json(opts: InsertOpts) -> dict[str, Any]:
    """The contract form of a kind's insert defaults; unset fields are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        if value is None:
            continue
        if f.name == "scheduled_at":
            value = format_time(value)
        elif f.name == "tags":
            value = list(value)
        elif f.name == "metadata":
            value = dict(value)
        elif f.name == "unique_opts":
            value = unique_opts_to_json(value)
        out[f.name] = value
    return out


def insert_opts_from_json(doc: Mapping[str, Any]) -> InsertOpts:
    fields: dict[str, Any] = dict(doc)
    if "scheduled_at" in fields:
        parsed = parse_time(fields["scheduled_at"])
        if parsed is None:
            raise ValidationError("scheduled_at", "format", "must be an RFC 3339 time", fields["scheduled_at"])
        fields["scheduled_at"] = parsed
    if "unique_opts" in fields:
        fields["unique_opts"] = unique_opts_from_json(fields["unique_opts"])
    return InsertOpts(**fields)


@cache
def meta_schema() -> dict[str, Any]:
    """The contract's own JSON Schema."""
    path = schema_files() / "json" / "job-args-contract.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@dataclasses.dataclass(frozen=True)
class KindContract:
    """One kind's entry: the JSON Schema of its args and its insert defaults."""

    args_schema: dict[str, Any]
    insert_opts: InsertOpts | None = None


class ArgsValidator:
    """One kind's args schema, compiled: the one check of args against a contract, used
    when inserting and again before working."""

    def __init__(self, kind: str, args_schema: Mapping[str, Any]) -> None:
        cls = jsonschema.validators.validator_for(args_schema)
        try:
            cls.check_schema(dict(args_schema))
        except jsonschema.SchemaError as exc:
            raise ValidationError(
                f"args_schema of kind {kind!r}", "format", f"is not a valid JSON Schema: {exc.message}"
            ) from exc
        self.kind = kind
        self._validator: Validator = cls(dict(args_schema))

    def check(self, args: Any) -> None:
        """Raise ``ArgsContractError`` naming the most relevant violation, if any."""
        error = best_match(self._validator.iter_errors(args))
        if error is not None:
            raise ArgsContractError(self.kind, _pointer(error.absolute_path), str(error.validator), error.message)


class Contract:
    """A job-args contract: build it from kinds, export it, load it, check args with it."""

    def __init__(self, kinds: Mapping[str, KindContract]) -> None:
        self.kinds = dict(kinds)
        self._validators = {
            kind: ArgsValidator(validate_kind(kind), entry.args_schema) for kind, entry in self.kinds.items()
        }

    @classmethod
    def from_kinds(cls, kinds: Iterable[type[Any]]) -> Contract:
        """The contract of args classes (dataclasses with a ``kind`` class attribute)."""
        entries: dict[str, KindContract] = {}
        for kind_cls in kinds:
            kind = getattr(kind_cls, "kind", None)
            if not isinstance(kind, str) or not dataclasses.is_dataclass(kind_cls):
                raise ValidationError(
                    "kinds", "type", "each must be a dataclass with a `kind` class attribute", kind_cls
                )
            if kind in entries:
                raise ValidationError("kinds", "duplicate", "each kind may appear once", kind)
            opts = getattr(kind_cls, "insert_opts", None)
            if opts is not None and not isinstance(opts, InsertOpts):
                raise ValidationError("insert_opts", "type", "must be an InsertOpts", opts)
            entries[kind] = KindContract(args_json_schema(kind_cls), opts)
        return cls(entries)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> Contract:
        """A contract from its JSON document (text or parsed), checked against the meta-schema."""
        value = json.loads(doc) if isinstance(doc, str | bytes) else doc
        error = best_match(jsonschema.Draft202012Validator(meta_schema()).iter_errors(value))
        if error is not None:
            raise ValidationError(
                f"contract at JSON pointer {_pointer(error.absolute_path)!r}",
                "contract",
                f"{error.validator}: {error.message}",
            )
        return cls(
            {
                kind: KindContract(
                    entry["args_schema"],
                    insert_opts_from_json(entry["insert_opts"]) if "insert_opts" in entry else None,
                )
                for kind, entry in value["kinds"].items()
            }
        )

    @classmethod
    def load(cls, path: str | Path) -> Contract:
        return cls.from_json(Path(path).read_bytes())

    def to_json(self) -> dict[str, Any]:
        """The contract document; kinds in sorted order so exports diff cleanly."""
        kinds: dict[str, Any] = {}
        for kind in sorted(self.kinds):
            entry = self.kinds[kind]
            kinds[kind] = {"args_schema": entry.args_schema}
            if entry.insert_opts is not None:
                kinds[kind]["insert_opts"] = insert_opts_to_json(entry.insert_opts)
        return {"riverboat_contract": CONTRACT_VERSION, "kinds": kinds}

    def validator(self, kind: str) -> ArgsValidator | None:
        """The compiled args schema of ``kind``, or ``None`` if the contract lacks it."""
        return self._validators.get(kind)

    def check(self, kind: str, encoded_args: bytes) -> None:
        """Raise ``UnknownKindError`` or ``ArgsContractError`` unless the args fit."""
        validator = self._validators.get(kind)
        if validator is None:
            raise UnknownKindError(kind)
        validator.check(json.loads(encoded_args))

    def with_defaults(self, args: ArgsLike) -> ArgsLike:
        """``RawArgs`` without options take their kind's defaults from the contract."""
        if isinstance(args, RawArgs) and args.insert_opts is None:
            entry = self.kinds.get(args.kind)
            if entry is not None and entry.insert_opts is not None:
                return dataclasses.replace(args, insert_opts=entry.insert_opts)
        return args
