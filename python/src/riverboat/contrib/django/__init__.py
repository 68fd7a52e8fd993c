"""riverboat in a Django project: jobs inserted in Django's transaction, workers run by
``manage.py riverboat_work``, River's schema applied by ``manage.py migrate``.

Add ``"riverboat.contrib.django"`` to ``INSTALLED_APPS`` and configure it in settings::

    RIVERBOAT = {
        "DATABASE": "default",                      # the alias holding River's tables
        "QUEUES": {"default": {"max_workers": 10}},  # QueueConfig fields, or QueueConfig
        "WORKERS": "shop.jobs.workers",             # dotted path to a riverboat.Workers
        "OPTIONS": {"job_timeout": timedelta(minutes=5)},  # any other Client keyword
    }

The database must use Django's PostgreSQL backend on psycopg 3 (Django 4.2 or newer picks
psycopg 3 when it is installed, as riverboat installs it); ``insert_tx`` runs on Django's
own connection, so a job inserted inside ``transaction.atomic()`` commits or rolls back
with it, and one inserted outside commits at once, as Django's autocommit does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections
from django.utils.module_loading import import_string

from riverboat._insert import InsertManyItem, InsertOpts
from riverboat.args import ArgsLike
from riverboat.client import Client
from riverboat.errors import ValidationError
from riverboat.job import InsertResult
from riverboat.migrate import MigrationStep, Migrator, known_lines
from riverboat.worker import QueueConfig, Workers

__all__ = [
    "client",
    "database_alias",
    "insert_many_fast_tx",
    "insert_many_tx",
    "insert_tx",
    "migrate_river_schema",
    "psycopg_connection",
    "working_client",
]

SETTING = "RIVERBOAT"
_KEYS = ("DATABASE", "QUEUES", "WORKERS", "OPTIONS")
# Keys of Django's connection parameters that configure psycopg objects, not libpq.
_NOT_CONNINFO = frozenset({"context", "cursor_factory", "prepare_threshold"})


@dataclass(frozen=True)
class _Config:
    database: str
    queues: dict[str, QueueConfig]
    workers: str | Workers | None
    options: dict[str, Any]


def _field(key: str) -> str:
    return f"{SETTING}[{key!r}]"


@cache
def _config() -> _Config:
    raw = getattr(settings, SETTING, {})
    if not isinstance(raw, Mapping):
        raise ValidationError(SETTING, "type", "must be a dict", raw)
    for key in raw:
        if key not in _KEYS:
            raise ValidationError(_field(key), "choice", f"is not a setting; the settings are {', '.join(_KEYS)}")
    database = raw.get("DATABASE", "default")
    if not isinstance(database, str) or database not in settings.DATABASES:
        raise ValidationError(_field("DATABASE"), "choice", "must name a database in DATABASES", database)
    queues = raw.get("QUEUES", {})
    if not isinstance(queues, Mapping):
        raise ValidationError(
            _field("QUEUES"), "type", "must map queue names to QueueConfig or dicts of its fields", queues
        )
    options = raw.get("OPTIONS", {})
    if not isinstance(options, Mapping):
        raise ValidationError(
            _field("OPTIONS"), "type", "must be a dict of riverboat.Client keyword arguments", options
        )
    return _Config(
        database=database,
        queues={name: _queue_config(name, value) for name, value in queues.items()},
        workers=raw.get("WORKERS"),
        options=dict(options),
    )


def _queue_config(name: str, value: object) -> QueueConfig:
    if isinstance(value, QueueConfig):
        return value
    if isinstance(value, Mapping):
        try:
            return QueueConfig(**value)
        except TypeError as exc:
            raise ValidationError(
                f"{_field('QUEUES')}[{name!r}]", "type", f"must hold QueueConfig fields ({exc})"
            ) from None
    raise ValidationError(
        f"{_field('QUEUES')}[{name!r}]", "type", "must be a QueueConfig or a dict of its fields", value
    )


def _forget_settings(*, setting: str, **_: Any) -> None:
    if setting in (SETTING, "DATABASES"):
        _config.cache_clear()
        client.cache_clear()


setting_changed.connect(_forget_settings)


def database_alias() -> str:
    """The alias of the database holding River's tables (``RIVERBOAT["DATABASE"]``)."""
    return _config().database


def psycopg_connection(using: str | None = None) -> psycopg.Connection[Any]:
    """Django's psycopg connection for ``using`` (default ``RIVERBOAT["DATABASE"]``), opened
    if need be, in whatever transaction Django has open on it."""
    alias = using or database_alias()
    wrapper = connections[alias]
    wrapper.ensure_connection()
    raw = wrapper.connection
    if not isinstance(raw, psycopg.Connection):
        driver = type(raw).__module__.partition(".")[0] if wrapper.vendor == "postgresql" else wrapper.vendor
        raise ValidationError(
            f"DATABASES[{alias!r}]",
            "choice",
            "must use Django's PostgreSQL backend on psycopg 3 (Django 4.2 or newer with psycopg installed: "
            f"pip install 'riverboat[django]'), not {driver}",
        )
    return raw


def _conninfo(alias: str) -> str:
    params = connections[alias].get_connection_params()
    return psycopg.conninfo.make_conninfo(**{key: value for key, value in params.items() if key not in _NOT_CONNINFO})


@cache
def client() -> Client:
    """The project's insert-only client (one per process). It opens connections of its own
    only for the forms without ``_tx``; ``insert_tx`` uses Django's."""
    config = _config()
    return Client(_conninfo(config.database), **config.options)


def working_client() -> Client:
    """A new client that works ``RIVERBOAT["QUEUES"]`` with ``RIVERBOAT["WORKERS"]`` on connections
    of its own: what ``manage.py riverboat_work`` runs."""
    config = _config()
    workers = import_string(config.workers) if isinstance(config.workers, str) else config.workers
    if not isinstance(workers, Workers):
        raise ValidationError(
            _field("WORKERS"), "type", "must be a riverboat.Workers or the dotted path of one", workers
        )
    if not config.queues:
        raise ValidationError(_field("QUEUES"), "required", "must name at least one queue to work")
    return Client(_conninfo(config.database), queues=config.queues, workers=workers, **config.options)


def migrate_river_schema(using: str | None = None) -> list[MigrationStep]:
    """Apply every riverboat migration line, up to its newest version, on Django's connection
    for ``using``, in ``OPTIONS["schema"]`` if set (what ``manage.py migrate`` runs)."""
    migrator = Migrator(psycopg_connection(using), schema=_config().options.get("schema"))
    return [step for line in known_lines() for step in migrator.up(line=line)]


def insert_tx(args: ArgsLike, opts: InsertOpts | None = None, *, using: str | None = None) -> InsertResult:
    """Insert one job in Django's current transaction on ``using``."""
    return client().insert_tx(psycopg_connection(using), args, opts)


def insert_many_tx(items: Sequence[InsertManyItem], *, using: str | None = None) -> list[InsertResult]:
    """Insert jobs in Django's current transaction on ``using``; results in input order."""
    return client().insert_many_tx(psycopg_connection(using), items)


def insert_many_fast_tx(items: Sequence[InsertManyItem], *, using: str | None = None) -> int:
    """Insert non-unique jobs with COPY in Django's current transaction on ``using``."""
    return client().insert_many_fast_tx(psycopg_connection(using), items)
