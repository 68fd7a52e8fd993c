"""Applies River's schema (every riverboat migration line, newest versions) to the database
named by ``RIVERBOAT["DATABASE"]`` when ``manage.py migrate`` runs there.

riverboat's migrator records versions in ``river_migration``, as River Go's does, and
applies only what is missing, so River Go, ``riverboat migrate`` and this migration can
share one database. Unapplying it leaves River's tables in place (other services may use
them); ``riverboat migrate down`` removes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations

from riverboat.contrib.django import database_alias, migrate_river_schema


def apply_river_schema(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    if alias == database_alias():
        migrate_river_schema(alias)


class Migration(migrations.Migration):
    # Each River version runs in a transaction of its own, as River's migrator runs it.
    atomic = False
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [migrations.RunPython(apply_river_schema, migrations.RunPython.noop)]
