"""The job-args contract (spec/05-args-contract.md): a JSON document mapping each kind to the
JSON Schema of its args and to its insert defaults, so services in any language agree on
what a kind's args look like. Its meta-schema is schema/json/job-args-contract.schema.json.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
from jsonschema.protocols import Validator

from riverboat._insert import InsertOpts
from riverboat._package_data import schema_files
from riverboat._rules import validate_bool, validate_kind
from riverboat._states import JobState
from riverboat._time import format_time, parse_time
from riverboat._unique import UniqueOpts
from riverboat.args import ArgsLike, RawArgs, args_json_schema
from riverboat.errors import ArgsContractError, UnknownKindError, ValidationError

CONTRACT_VERSION = 1
_SECOND = timedelta(seconds=1)


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def unique_opts_to_json(opts: UniqueOpts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if opts.by_args:
        out["by_args"] = opts.by_args if isinstance(opts.by_args, bool) else list(opts.by_args)
    if opts.by_period is not None:
        out["by_period_seconds"] = opts.by_period // _SECOND
    if opts.by_queue:
        out["by_queue"] = True
    if opts.by_state is not None:
        out["by_state"] = [JobState(s).value for s in opts.by_state]
    if opts.exclude_kind:
        out["exclude_kind"] = True
    return out


def unique_opts_from_json(doc: Mapping[str, Any]) -> UniqueOpts:
    """Unique options as JSON (spec/03-insert.md#json-options); a ``null`` member is unset."""
    paths = doc.get("by_args")
    by_args = paths if isinstance(paths, bool) else False if paths is None else tuple(paths)
    period = doc.get("by_period_seconds")
    states = doc.get("by_state")
    return UniqueOpts(
        by_args=by_args,
        by_period=None if period is None else timedelta(seconds=period),
        by_queue=doc.get("by_queue") is True,
        by_state=None if states is None else tuple(JobState(s) for s in states),
        exclude_kind=doc.get("exclude_kind") is True,
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
    """Insert options as JSON (spec/03-insert.md#json-options); a ``null`` member is unset."""
    fields: dict[str, Any] = {name: value for name, value in doc.items() if value is not None}
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

    args_schema: dict[str, Any] | bool
    insert_opts: InsertOpts | None = None


def _property_names(
    validator: Validator, property_names: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """``propertyNames`` as one failed keyword at the object, not the failures of the
    name itself (spec/05-args-contract.md#violations)."""
    if not validator.is_type(instance, "object"):
        return
    names = validator.evolve(schema=property_names)
    for name in instance:
        cause = next(names.iter_errors(name), None)
        if cause is not None:
            yield jsonschema.ValidationError(f"property name {name!r} is invalid: {cause.message}")


def _items_over(original: Callable[..., Iterator[jsonschema.ValidationError]]) -> Any:
    """``items``, looked through even when its subschema is ``false``: each extra item
    fails the false schema (spec/05-args-contract.md#violations), where jsonschema would
    report ``items`` at the array."""

    def items(
        validator: Validator, items: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        if items is False and validator.is_type(instance, "array"):
            nothing = validator.evolve(schema=False)
            for index in range(len(schema.get("prefixItems", ())), len(instance)):
                for error in nothing.iter_errors(instance[index]):
                    error.relative_path.appendleft(index)
                    yield error
        else:
            yield from original(validator, items, instance, schema)

    return items


def _false_keeps_path(descend: Callable[..., Iterator[jsonschema.ValidationError]]) -> Any:
    """``descend`` that places a false subschema's failure at the value it failed on:
    jsonschema 4.26 leaves such an error at the parent (``{"properties": {"a": false}}``
    reports ``""``, not ``"/a"``). Its fresh error has no path of its own, which is how the
    fault is told apart from a release that fixes it."""

    def wrapped(
        self: Validator, instance: Any, schema: Any, path: Any = None, *args: Any, **kwargs: Any
    ) -> Iterator[jsonschema.ValidationError]:
        for error in descend(self, instance, schema, path, *args, **kwargs):
            if schema is False and path is not None and not error.relative_path:
                error.relative_path.appendleft(path)
            yield error

    return wrapped


@cache
def _checker_class(cls: type[Validator]) -> type[Validator]:
    """The draft's validator, its keywords reporting failures as spec/05 counts them."""
    keywords: dict[str, Any] = {}
    if "propertyNames" in cls.VALIDATORS:
        keywords["propertyNames"] = _property_names
    if "items" in cls.VALIDATORS:
        keywords["items"] = _items_over(cls.VALIDATORS["items"])
    checker: Any = jsonschema.validators.extend(cls, keywords)  # type: ignore[no-untyped-call]
    checker.descend = _false_keeps_path(checker.descend)  # a class of our own, made just above
    return cast(type[Validator], checker)


def _violation(validator: Validator, instance: Any) -> jsonschema.ValidationError | None:
    """The one violation to report (spec/05-args-contract.md#violations). jsonschema already
    yields failed keywords: it descends through applicators (``properties``, ``items``,
    ``allOf``, ``$ref``, ...), keeps ``anyOf``/``oneOf``/``not``/``contains`` whole, and
    points member keywords at their object. Of these, the shortest pointer wins; ties go to
    the smaller pointer, then to the first in schema order, so the choice is deterministic."""
    return min(
        validator.iter_errors(instance),
        key=lambda error: (len(error.absolute_path), _pointer(error.absolute_path)),
        default=None,
    )


def _keyword(error: jsonschema.ValidationError) -> str:
    # A boolean false schema has no keyword; it is named as itself.
    return "false" if error.validator is None else str(error.validator)


class ArgsValidator:
    """One kind's args schema, compiled: the one check of args against a contract, used
    when inserting and again before working."""

    def __init__(self, kind: str, args_schema: Mapping[str, Any] | bool) -> None:
        schema: Any = args_schema if isinstance(args_schema, bool) else dict(args_schema)
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValidationError(
                f"args_schema of kind {kind!r}", "format", f"is not a valid JSON Schema: {exc.message}"
            ) from exc
        self.kind = kind
        self._validator: Validator = _checker_class(cls)(schema)

    def check(self, args: Any) -> None:
        """Raise ``ArgsContractError`` naming the violation spec/05 picks, if any."""
        error = _violation(self._validator, args)
        if error is not None:
            raise ArgsContractError(self.kind, _pointer(error.absolute_path), _keyword(error), error.message)


class Contract:
    """A job-args contract: build it from kinds, export it, load it, check args with it.

    It checks the kinds it lists and lets others through; with ``strict=True`` it refuses
    kinds it does not list (spec/05-args-contract.md#strict-mode), which catches a
    misspelt kind that no worker would ever run."""

    def __init__(self, kinds: Mapping[str, KindContract], *, strict: bool = False) -> None:
        self.kinds = dict(kinds)
        self.strict = validate_bool("strict", strict)
        self._validators = {
            kind: ArgsValidator(validate_kind(kind), entry.args_schema) for kind, entry in self.kinds.items()
        }

    @classmethod
    def from_kinds(cls, kinds: Iterable[type[Any]], *, strict: bool = False) -> Contract:
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
        return cls(entries, strict=strict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes, *, strict: bool = False) -> Contract:
        """A contract from its JSON document (text or parsed), checked against the meta-schema."""
        value = json.loads(doc) if isinstance(doc, str | bytes) else doc
        error = _violation(_checker_class(jsonschema.Draft202012Validator)(meta_schema()), value)
        if error is not None:
            raise ValidationError(
                f"contract at JSON pointer {_pointer(error.absolute_path)!r}",
                "contract",
                f"{_keyword(error)}: {error.message}",
            )
        return cls(
            {
                kind: KindContract(
                    entry["args_schema"],
                    insert_opts_from_json(entry["insert_opts"]) if "insert_opts" in entry else None,
                )
                for kind, entry in value["kinds"].items()
            },
            strict=strict,
        )

    @classmethod
    def load(cls, path: str | Path, *, strict: bool = False) -> Contract:
        return cls.from_json(Path(path).read_bytes(), strict=strict)

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
        """Raise ``ArgsContractError`` if the args of a listed kind break its schema, and
        ``UnknownKindError`` for a kind the contract does not list, in strict mode only."""
        validator = self._validators.get(kind)
        if validator is not None:
            validator.check(json.loads(encoded_args))
        elif self.strict:
            raise UnknownKindError(kind)

    def with_defaults(self, args: ArgsLike) -> ArgsLike:
        """``RawArgs`` without options take their kind's defaults from the contract."""
        if isinstance(args, RawArgs) and args.insert_opts is None:
            entry = self.kinds.get(args.kind)
            if entry is not None and entry.insert_opts is not None:
                return dataclasses.replace(args, insert_opts=entry.insert_opts)
        return args
