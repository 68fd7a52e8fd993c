"""Insert middleware and ``insert_begin`` hooks around a batch insert (spec/07-complete.md#middleware):
the client's own first, then each args class's (``middleware`` and ``hooks`` class
attributes), in the order the batch first shows each kind. A batch whose client and
args classes have none takes no detour at all.

The clients call ``run_insert_chain`` (``AsyncClient``) or ``run_insert_chain_sync``
(``Client``, whose generated code calls the second name).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from riverboat._insert import InsertManyItem, InsertParams, encode_metadata, split_item
from riverboat._rules import validate_storable_json
from riverboat.args import RawArgs
from riverboat.errors import ValidationError
from riverboat.job import InsertResult
from riverboat.middleware import Hook, JobInsertParams, Middleware
from riverboat.worker import validate_plugins

_NO_PLUGINS: tuple[tuple[Middleware, ...], tuple[Hook, ...]] = ((), ())
_by_type: dict[type[Any], tuple[tuple[Middleware, ...], tuple[Hook, ...]]] = {}


def _kind_plugins(args: object) -> tuple[tuple[Middleware, ...], tuple[Hook, ...]]:
    """An args class's own middleware and hooks (validated once per class)."""
    cls = type(args)
    if cls is RawArgs:
        return _NO_PLUGINS
    found = _by_type.get(cls)
    if found is None:
        found = _by_type[cls] = (
            validate_plugins(f"{cls.__name__}.middleware", getattr(cls, "middleware", ()), Middleware),
            validate_plugins(f"{cls.__name__}.hooks", getattr(cls, "hooks", ()), Hook),
        )
    return found


@dataclass(frozen=True)
class InsertChain:
    """What runs around one batch: its middleware, each job's hooks, and the jobs as the
    plugins see them."""

    middleware: tuple[Middleware, ...]
    hooks: list[tuple[Hook, ...]]
    params: list[JobInsertParams]

    def rows(self) -> list[InsertParams]:
        """The jobs as the plugins left them."""
        return [_row(p) for p in self.params]


def insert_chain(
    items: Sequence[InsertManyItem],
    rows: Sequence[InsertParams],
    middleware: tuple[Middleware, ...],
    hooks: tuple[Hook, ...],
) -> InsertChain:
    """The chain around inserting ``rows`` (made from ``items``)."""
    kinds = [_kind_plugins(split_item(item).args) for item in items]
    chain_middleware = list(middleware)
    seen: set[str] = set()
    for row, (kind_middleware, _) in zip(rows, kinds, strict=True):
        if row.kind not in seen:
            seen.add(row.kind)
            chain_middleware.extend(kind_middleware)
    return InsertChain(
        middleware=tuple(chain_middleware),
        hooks=[hooks + kind_hooks for _, kind_hooks in kinds],
        params=[_params(row) for row in rows],
    )


def has_plugins(items: Sequence[InsertManyItem], middleware: tuple[Middleware, ...], hooks: tuple[Hook, ...]) -> bool:
    """Whether inserting ``items`` runs any middleware or hook (a cheap look at their types)."""
    return bool(middleware or hooks) or any(_kind_plugins(split_item(item).args) != _NO_PLUGINS for item in items)


def _params(row: InsertParams) -> JobInsertParams:
    return JobInsertParams(
        kind=row.kind,
        args=row.args,
        metadata=json.loads(row.metadata),
        queue=row.queue,
        priority=row.priority,
        max_attempts=row.max_attempts,
        created_at=row.created_at,
        scheduled_at=row.scheduled_at,
        state=row.state,
        tags=list(row.tags),
        unique_key=row.unique_key,
        unique_states=row.unique_states,
    )


def _row(params: JobInsertParams) -> InsertParams:
    """The row to insert, as the plugins left it; what they changed is checked again, so a
    middleware can't make the statement fail in the caller's transaction."""
    if not isinstance(params.metadata, dict):
        raise ValidationError(
            "metadata", "type", "insert middleware must leave metadata a JSON object", params.metadata
        )
    if not isinstance(params.args, bytes):
        raise ValidationError("args", "type", "insert middleware must leave args encoded JSON bytes", params.args)
    return InsertParams(
        kind=params.kind,
        args=validate_storable_json("args", params.args),
        queue=params.queue,
        priority=params.priority,
        max_attempts=params.max_attempts,
        created_at=params.created_at,
        scheduled_at=params.scheduled_at,
        state=params.state,
        tags=tuple(params.tags),
        metadata=encode_metadata(params.metadata),
        unique_key=params.unique_key,
        unique_states=params.unique_states,
    )


async def run_insert_chain(
    chain: InsertChain, insert: Callable[[list[InsertParams]], Awaitable[list[InsertResult]]]
) -> list[InsertResult]:
    """Run ``chain`` around ``insert`` (``AsyncClient``): hooks may be ``async def``."""

    async def inner() -> list[InsertResult]:
        for params, hooks in zip(chain.params, chain.hooks, strict=True):
            for hook in hooks:
                result = hook.insert_begin(params)
                if inspect.isawaitable(result):
                    await result
        return await insert(chain.rows())

    call: Callable[[], Awaitable[list[InsertResult]]] = inner
    for middleware in reversed(chain.middleware):
        call = functools.partial(middleware.insert_many, chain.params, call)
    return await call()


def run_insert_chain_sync(
    chain: InsertChain, insert: Callable[[list[InsertParams]], list[InsertResult]]
) -> list[InsertResult]:
    """Run ``chain`` around ``insert`` (``Client``): hooks and middleware are plain functions."""

    def inner() -> list[InsertResult]:
        for params, hooks in zip(chain.params, chain.hooks, strict=True):
            for hook in hooks:
                result = hook.insert_begin(params)
                if inspect.iscoroutine(result):
                    result.close()
                    raise ValidationError(
                        "hooks", "type", "a Client's insert_begin hooks must be plain functions", hook
                    )
        return insert(chain.rows())

    call: Callable[[], list[InsertResult]] = inner
    for middleware in reversed(chain.middleware):
        call = functools.partial(middleware.insert_many_sync, chain.params, call)
    return call()
