"""Insert options and the pure functions that turn job args plus options into the values
of ``river_job`` rows (spec/03-insert.md). The rules for single values are in ``_rules``."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, ClassVar, NamedTuple, TypeAlias, TypeVar, cast

import psycopg
from psycopg import pq
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Dumper, PyFormat, Transformer

from riverboat._defaults import MAX_ATTEMPTS_DEFAULT, PRIORITY_DEFAULT, QUEUE_DEFAULT
from riverboat._gojson import encode
from riverboat._rules import (
    validate_aware_time,
    validate_bool,
    validate_kind,
    validate_max_attempts,
    validate_metadata,
    validate_priority,
    validate_queue_name,
    validate_storable_json,
    validate_tags,
)
from riverboat._states import JobState
from riverboat._unique import UniqueOpts, unique_key, unique_states_mask
from riverboat.args import ArgsLike, RawArgs, encode_args, kind_of
from riverboat.errors import RiverboatError, ValidationError
from riverboat.job import InsertResult, Job


@dataclass(frozen=True)
class InsertOpts:
    """Options of one insert, or a kind's insert defaults. Every field is optional; an
    unset (``None``) field falls back to the kind's defaults, then to the client's."""

    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    scheduled_at: datetime | None = None
    pending: bool | None = None
    tags: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    unique_opts: UniqueOpts | None = None

    def __post_init__(self) -> None:
        if self.queue is not None:
            validate_queue_name(self.queue)
        if self.priority is not None:
            validate_priority(self.priority)
        if self.max_attempts is not None:
            validate_max_attempts(self.max_attempts)
        if self.scheduled_at is not None:
            object.__setattr__(self, "scheduled_at", validate_aware_time("scheduled_at", self.scheduled_at))
        if self.pending is not None:
            validate_bool("pending", self.pending)
        if self.tags is not None:
            object.__setattr__(self, "tags", validate_tags(self.tags))
        if self.metadata is not None:
            object.__setattr__(self, "metadata", validate_metadata(self.metadata))
        if self.unique_opts is not None and not isinstance(self.unique_opts, UniqueOpts):
            raise ValidationError("unique_opts", "type", "must be a UniqueOpts", self.unique_opts)


@dataclass(frozen=True)
class ClientDefaults:
    """The client's fallbacks, used when neither the insert nor the kind sets a value."""

    queue: str = QUEUE_DEFAULT
    priority: int = PRIORITY_DEFAULT
    max_attempts: int = MAX_ATTEMPTS_DEFAULT

    def __post_init__(self) -> None:
        validate_queue_name(self.queue)
        validate_priority(self.priority)
        validate_max_attempts(self.max_attempts)


@dataclass(frozen=True)
class InsertManyParams:
    """One element of a bulk insert: args with their own options."""

    args: ArgsLike
    opts: InsertOpts | None = None


class InsertParams(NamedTuple):
    """The column values of one job to insert, fully resolved (schema/json/insert-params.schema.json)."""

    kind: str
    args: bytes
    queue: str
    priority: int
    max_attempts: int
    created_at: datetime
    scheduled_at: datetime
    state: JobState
    tags: tuple[str, ...]
    metadata: bytes
    unique_key: bytes | None
    unique_states: int | None


def kind_insert_opts(args: ArgsLike) -> InsertOpts | None:
    """The kind's insert defaults: ``RawArgs.insert_opts`` or the class's ``insert_opts``."""
    opts = args.insert_opts if isinstance(args, RawArgs) else getattr(type(args), "insert_opts", None)
    if opts is not None and not isinstance(opts, InsertOpts):
        raise ValidationError("insert_opts", "type", "must be an InsertOpts", opts)
    return opts


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


_NO_OPTS = InsertOpts()


@dataclass(frozen=True)
class _Resolved:
    """Everything one pair of (per-insert, kind) options decides, whatever the args."""

    queue: str
    priority: int
    max_attempts: int
    scheduled_at: datetime | None
    state: JobState
    tags: tuple[str, ...]
    metadata: Mapping[str, Any]
    encoded_metadata: bytes
    unique: UniqueOpts | None
    unique_states: int | None


def encode_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Metadata as stored: Go ``encoding/json`` bytes that ``jsonb`` can hold."""
    return validate_storable_json("metadata", encode(metadata, "metadata"))


def _resolve(given: InsertOpts, kind_opts: InsertOpts, defaults: ClientDefaults) -> _Resolved:
    """Per-insert options, then the kind's defaults, then the client's; state pending >
    scheduled (any explicit scheduled_at) > available."""
    explicit_at: datetime | None = _first(given.scheduled_at, kind_opts.scheduled_at)
    if _first(given.pending, kind_opts.pending, False):
        state = JobState.PENDING
    elif explicit_at is not None:
        state = JobState.SCHEDULED
    else:
        state = JobState.AVAILABLE
    chosen: UniqueOpts | None = _first(given.unique_opts, kind_opts.unique_opts)
    unique = chosen if chosen is not None and chosen.is_unique else None
    metadata: Mapping[str, Any] = _first(given.metadata, kind_opts.metadata, {})
    return _Resolved(
        queue=_first(given.queue, kind_opts.queue, defaults.queue),
        priority=_first(given.priority, kind_opts.priority, defaults.priority),
        max_attempts=_first(given.max_attempts, kind_opts.max_attempts, defaults.max_attempts),
        scheduled_at=explicit_at,
        state=state,
        tags=tuple(_first(given.tags, kind_opts.tags, ())),
        metadata=metadata,
        encoded_metadata=encode_metadata(metadata),
        unique=unique,
        unique_states=None if unique is None else unique_states_mask(unique),
    )


class InsertResolver:
    """Builds the rows of one batch, all created at ``now``. Jobs of a batch mostly share
    their options, so each distinct pair of (per-insert, kind) options and each kind name
    is resolved and validated once per batch, not once per job."""

    def __init__(self, defaults: ClientDefaults, now: datetime) -> None:
        self._defaults = defaults
        self._now = validate_aware_time("now", now)
        # Keyed by the options' identities; the entry holds both objects, so neither id can be reused.
        self._resolved: dict[tuple[int, int], tuple[InsertOpts | None, InsertOpts | None, _Resolved]] = {}
        self._kinds: set[str] = set()

    def _resolve(self, opts: InsertOpts | None, kind_opts: InsertOpts | None) -> _Resolved:
        entry = self._resolved.get((id(opts), id(kind_opts)))
        if entry is None:
            if opts is not None and not isinstance(opts, InsertOpts):
                raise ValidationError("opts", "type", "must be an InsertOpts", opts)
            resolved = _resolve(opts or _NO_OPTS, kind_opts or _NO_OPTS, self._defaults)
            entry = self._resolved[(id(opts), id(kind_opts))] = (opts, kind_opts, resolved)
        return entry[2]

    def build(
        self, args: ArgsLike, opts: InsertOpts | None, extra_metadata: Mapping[str, Any] | None = None
    ) -> InsertParams:
        """One job's row. ``extra_metadata`` is riverboat's own (it may use reserved keys)
        and wins over the user's."""
        kind = kind_of(args)
        if kind not in self._kinds:
            self._kinds.add(validate_kind(kind))
        encoded = encode_args(args)
        resolved = self._resolve(opts, kind_insert_opts(args))
        now = self._now
        key: bytes | None = None
        if resolved.unique is not None:
            key = unique_key(
                kind=kind,
                encoded_args=encoded,
                queue=resolved.queue,
                opts=resolved.unique,
                scheduled_at=resolved.scheduled_at,
                now=now,
            )
        metadata = (
            encode_metadata({**resolved.metadata, **extra_metadata}) if extra_metadata else resolved.encoded_metadata
        )
        return InsertParams(
            kind,
            encoded,
            resolved.queue,
            resolved.priority,
            resolved.max_attempts,
            now,
            resolved.scheduled_at or now,
            resolved.state,
            resolved.tags,
            metadata,
            key,
            resolved.unique_states,
        )


# Jobs per statement of a bulk insert. Chunks are pipelined, so a smaller chunk lets the
# server start sooner; 250 measured best for 1,000-job batches (bench/measure.py insert-many).
INSERT_CHUNK_SIZE = 250

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter), drawn lazily."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def batch_arrays(rows: Sequence[InsertParams]) -> dict[str, list[Any]]:
    """The parallel arrays of ``job_insert_many.sql``. Args and metadata travel as text so
    Postgres parses exactly the bytes we encoded; tags comma-joined (tags have no commas)."""
    return {
        "args": [r.args.decode("utf-8") for r in rows],
        "created_at": [r.created_at for r in rows],
        "kind": [r.kind for r in rows],
        "max_attempts": [r.max_attempts for r in rows],
        "metadata": [r.metadata.decode("utf-8") for r in rows],
        "priority": [r.priority for r in rows],
        "queue": [r.queue for r in rows],
        "scheduled_at": [r.scheduled_at for r in rows],
        "state": [r.state.value for r in rows],
        "tags": [",".join(r.tags) for r in rows],
        "unique_key": [r.unique_key for r in rows],
        "unique_states": [r.unique_states for r in rows],
    }


# The element type of each array of ``job_insert_many.sql``, as its casts name them.
INSERT_MANY_TYPES = {
    "args": "text",
    "created_at": "timestamptz",
    "kind": "text",
    "max_attempts": "int2",
    "metadata": "text",
    "priority": "int2",
    "queue": "text",
    "scheduled_at": "timestamptz",
    "state": "text",
    "tags": "text",
    "unique_key": "bytea",
    "unique_states": "int4",
}


class BinaryArray(bytes):
    """A one-dimensional array in PostgreSQL's binary format, ready to send; its subclass
    names the element type (``insert_many_params`` lets a cursor send it)."""

    element: ClassVar[str]


_ARRAY_CLASSES: dict[str, type[BinaryArray]] = {
    name: type(f"BinaryArray_{name}", (BinaryArray,), {"element": name}) for name in set(INSERT_MANY_TYPES.values())
}
_ARRAY_HEAD = struct.Struct("!iiIii")
_ARRAY_NULL = struct.pack("!i", -1)
_pack_length = struct.Struct("!i").pack
_UNSET = object()


class _BinaryArrayDumper(Dumper):
    format = pq.Format.BINARY

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        adapters = context.adapters if context is not None else psycopg.adapters
        self.oid = adapters.types[cast(type[BinaryArray], cls).element].array_oid

    def dump(self, obj: Any) -> Buffer | None:
        return cast(bytes, obj)


def insert_many_params(rows: Sequence[InsertParams], cursor: AdaptContext) -> Mapping[str, Any]:
    """The parameters of ``job_insert_many.sql`` for ``rows``, sent by ``cursor``: arrays
    written by ``binary_arrays`` where the server binds parameters, ``batch_arrays``'s lists
    where the cursor binds them itself (a ``ClientCursor``, as Django's connections use),
    quoting each as text."""
    arrays = batch_arrays(rows)
    if isinstance(cursor, psycopg.ClientCursor | psycopg.AsyncClientCursor):
        return arrays
    cursor.adapters.register_dumper(BinaryArray, _BinaryArrayDumper)
    return binary_arrays(arrays, cursor)


def binary_arrays(arrays: Mapping[str, list[Any]], context: AdaptContext) -> dict[str, BinaryArray]:
    """``batch_arrays``'s arrays, each written as psycopg writes a list in binary but with the
    elements' own dumpers for the statement's element types, and each run of equal elements
    dumped once: a batch's jobs mostly share all but their args. Equal elements of these
    types dump alike (aware times as their instant)."""
    return {name: _binary_array(values, INSERT_MANY_TYPES[name], context) for name, values in arrays.items()}


def _binary_array(values: list[Any], element: str, context: AdaptContext) -> BinaryArray:
    adapters = context.adapters
    oid = adapters.types[element].oid
    dump = adapters.get_dumper_by_oid(oid, pq.Format.BINARY)(object, context).dump

    def dumped(value: Any) -> bytes:
        data = None if value is None else dump(value)
        return _ARRAY_NULL if data is None else _pack_length(len(data)) + bytes(data)

    first = values[0]
    if values.count(first) == len(values):
        body = dumped(first) * len(values)
    else:
        parts: list[bytes] = []
        last: Any = _UNSET
        item = b""
        for value in values:
            if value is not last and value != last:
                last = value
                item = dumped(value)
            parts.append(item)
        body = b"".join(parts)
    head = _ARRAY_HEAD.pack(1, None in values, oid, len(values), 1)
    return _ARRAY_CLASSES[element](head + body)


# The types of ``copy_row``'s values, given to COPY so it picks each dumper once, not per value.
COPY_TYPES = ("text", "timestamptz", "text", "int2", "text", "int2", "text", "timestamptz", "text", "text[]")


def copy_row(row: InsertParams) -> tuple[Any, ...]:
    """One row for ``job_insert_copy.sql``, in its column order. COPY cannot resolve
    conflicts, so unique jobs are refused (use insert_many for them)."""
    if row.unique_key is not None:
        raise ValidationError(
            "unique_opts",
            "conflict",
            "unique jobs cannot be inserted with insert_many_fast (COPY); use insert_many",
            row.kind,
        )
    return (
        row.args.decode("utf-8"),
        row.created_at,
        row.kind,
        row.max_attempts,
        row.metadata.decode("utf-8"),
        row.priority,
        row.queue,
        row.scheduled_at,
        row.state.value,
        list(row.tags),
    )


# Bytes of COPY text per write: psycopg's own buffer size for ``write_row``.
COPY_WRITE_SIZE = 32 * 1024

# COPY's text format: these bytes within a value are written as backslash escapes.
_COPY_ESCAPES = {
    b"\\": b"\\\\",
    b"\b": b"\\b",
    b"\t": b"\\t",
    b"\n": b"\\n",
    b"\v": b"\\v",
    b"\f": b"\\f",
    b"\r": b"\\r",
}
_COPY_NEEDS_ESCAPE = re.compile(b"[\b\t\n\v\f\r\\\\]")


def _copy_escape(match: re.Match[bytes]) -> bytes:
    return _COPY_ESCAPES[match.group()]


def _copy_value(dumped: Buffer | None) -> bytes:
    if dumped is None:
        return b"\\N"
    data = bytes(dumped)
    return data if _COPY_NEEDS_ESCAPE.search(data) is None else _COPY_NEEDS_ESCAPE.sub(_copy_escape, data)


class CopyText:
    """The COPY text of ``copy_row``'s rows, as ``Copy.write_row`` writes them with
    ``COPY_TYPES`` set (the connection's own dumpers, found by type), but cheaper: only the
    args differ between the rows of a batch that share their options, so the text of the
    other columns is made once for each run of rows that share them."""

    def __init__(self, context: AdaptContext) -> None:
        types = context.adapters.types
        oids = [types.get_oid(name) for name in COPY_TYPES]
        self._text = context.adapters.get_dumper_by_oid(oids[0], pq.Format.TEXT)(str, context)
        self._rest = Transformer.from_context(context)
        self._rest.set_dumper_types(oids[1:], pq.Format.TEXT)
        self._rest_formats = [PyFormat.TEXT] * (len(oids) - 1)
        self._key: tuple[Any, ...] = ()
        self._suffix = b""
        self._buffer = bytearray()

    def add(self, row: InsertParams) -> None:
        """Append ``row``'s line (ValidationError for a unique job, as ``copy_row``)."""
        key = row[:1] + row[2:10]
        if key != self._key or row.unique_key is not None:
            values = copy_row(row)[1:]
            self._suffix = b"\t" + b"\t".join(map(_copy_value, self._rest.dump_sequence(values, self._rest_formats)))
            self._suffix += b"\n"
            self._key = key
        buffer = self._buffer
        buffer += _copy_value(self._text.dump(row.args.decode("utf-8")))
        buffer += self._suffix

    def __len__(self) -> int:
        return len(self._buffer)

    def take(self) -> bytearray:
        """The text added since the last ``take``."""
        taken, self._buffer = self._buffer, bytearray()
        return taken


@dataclass(frozen=True)
class Batch:
    """A bulk insert with duplicate unique keys folded: ``rows`` go to the statement,
    ``sources[i]`` is the statement row answering input ``i``, and ``repeats[i]`` says
    input ``i`` repeats a key seen earlier in the batch (so it is reported as skipped)."""

    rows: list[InsertParams]
    sources: list[int]
    repeats: list[bool]


def fold_duplicates(params: Sequence[InsertParams]) -> Batch:
    """Postgres refuses one ON CONFLICT statement touching a row twice, so each unique
    key goes in once; later inputs with the same key get the first one's row."""
    rows: list[InsertParams] = []
    sources: list[int] = []
    repeats: list[bool] = []
    seen: dict[bytes, int] = {}
    for p in params:
        if p.unique_key is not None and p.unique_key in seen:
            sources.append(seen[p.unique_key])
            repeats.append(True)
            continue
        if p.unique_key is not None:
            seen[p.unique_key] = len(rows)
        sources.append(len(rows))
        repeats.append(False)
        rows.append(p)
    return Batch(rows, sources, repeats)


InsertManyItem: TypeAlias = ArgsLike | tuple[ArgsLike, InsertOpts | None] | InsertManyParams


def check_batch(items: object) -> None:
    """A batch is a list of at least one job: River Go's InsertMany, InsertManyFast and their
    Tx forms refuse an empty one ("no jobs to insert")."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ValidationError("insert_many", "type", "must be a list of jobs", items)
    if not items:
        raise ValidationError("insert_many", "length", "no jobs to insert: a batch needs at least one job")


def split_item(item: InsertManyItem) -> InsertManyParams:
    """A bulk-insert element as args and options: args alone, ``(args, opts)`` or InsertManyParams."""
    if isinstance(item, InsertManyParams):
        return item
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValidationError("insert_many", "type", "a tuple element must be (args, opts)", item)
        return InsertManyParams(item[0], item[1])
    return InsertManyParams(item)


def results_in_input_order(batch: Batch, stored: Sequence[Mapping[str, Any]]) -> list[InsertResult]:
    """One result per input, from the statement's rows, each placed by its ``ord`` (its
    1-based position in ``batch.rows``), never by the order rows came back in."""
    placed: list[Mapping[str, Any] | None] = [None] * len(batch.rows)
    for row in stored:
        position = row["ord"] - 1
        if not 0 <= position < len(placed) or placed[position] is not None:
            raise RiverboatError(f"insert returned ordinal {row['ord']} for a batch of {len(placed)} jobs")
        placed[position] = row
    if len(stored) != len(placed):
        raise RiverboatError(f"insert returned {len(stored)} rows for {len(placed)} jobs")
    rows = cast(list[Mapping[str, Any]], placed)
    jobs = [Job.from_row(row) for row in rows]
    return [
        InsertResult(jobs[source], repeat or bool(rows[source]["unique_skipped_as_duplicate"]))
        for source, repeat in zip(batch.sources, batch.repeats, strict=True)
    ]


def notify_queues(results: Sequence[InsertResult]) -> list[str]:
    """Queues that received new ``available`` jobs, each once, in first-seen order."""
    return list(
        dict.fromkeys(
            r.job.queue for r in results if r.job.state is JobState.AVAILABLE and not r.unique_skipped_as_duplicate
        )
    )


def notify_queues_of_params(rows: Sequence[InsertParams]) -> list[str]:
    """Queues that receive ``available`` rows (COPY returns no rows to look at)."""
    return list(dict.fromkeys(r.queue for r in rows if r.state is JobState.AVAILABLE))
