"""riverboat.contrib.django in a real Django project (tests/django_project) on the test
database: ``manage.py migrate`` applies River's schema, a job inserted inside
``transaction.atomic()`` commits or rolls back with the order it ships, and ``manage.py
riverboat_work`` works it. A project whose database is not on psycopg 3 is told what it
needs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.django_project.settings"


def django_env(db_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": str(ROOT), **extra}


def manage(db_url: str, *args: str, **extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=django_env(db_url, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def orders_and_jobs(conn: psycopg.Connection[Any]) -> tuple[list[tuple[str, bool]], list[tuple[int, str]]]:
    orders = [(email, shipped) for email, shipped in conn.execute("SELECT email, shipped FROM shop_order ORDER BY id")]
    jobs = [(int(row[0]), row[1]) for row in conn.execute("SELECT args->'order_id', state FROM river_job ORDER BY id")]
    return orders, jobs


def test_migrate_enqueue_in_atomic_and_work(bare_db_url: str) -> None:
    assert "Applying riverboat.0001_river_schema... OK" in manage(bare_db_url, "migrate")
    with psycopg.connect(bare_db_url, autocommit=True) as conn:
        lines = conn.execute("SELECT line, max(version) FROM river_migration GROUP BY line ORDER BY line").fetchall()
        assert lines == [("main", 8), ("riverboat", 1)]
        # Migrating again finds River's schema applied.
        assert "No migrations to apply" in manage(bare_db_url, "migrate")

        assert "rolled back: payment declined" in manage(bare_db_url, "place_order", "b@example.com", "--fail")
        assert manage(bare_db_url, "place_order", "a@example.com").startswith("order 2 placed")
        assert orders_and_jobs(conn) == ([("a@example.com", False)], [(2, "available")])

        worker = subprocess.Popen(
            [sys.executable, "-m", "django", "riverboat_work"],
            env=django_env(bare_db_url),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: orders_and_jobs(conn)[1] == [(2, "completed")], timeout=30, what="job completed")
            assert orders_and_jobs(conn)[0] == [("a@example.com", True)]
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
        assert worker.stderr is not None
        assert "riverboat: worker" in worker.stderr.read()


NAIVE_TIMES_SCRIPT = """
import django
from django.conf import settings
from django.db import transaction
from tests.django_project import settings as project

# Configured in code, so the process keeps its own time zone while Django's connection
# uses America/Chicago and, without USE_TZ, loads timestamptz as naive local times.
settings.configure(DATABASES=project.DATABASES, INSTALLED_APPS=project.INSTALLED_APPS, USE_TZ=False)
django.setup()
from riverboat.contrib.django import insert_tx
from tests.django_project.shop.jobs import ShipOrder

with transaction.atomic():
    print(insert_tx(ShipOrder(order_id=1)).job.created_at.isoformat())
"""


def test_results_are_true_times_without_use_tz(bare_db_url: str) -> None:
    manage(bare_db_url, "migrate")
    result = subprocess.run(
        [sys.executable, "-c", NAIVE_TIMES_SCRIPT],
        env={**django_env(bare_db_url), "TZ": "UTC"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reported = datetime.fromisoformat(result.stdout.strip())
    with psycopg.connect(bare_db_url) as conn:
        assert conn.execute("SELECT created_at FROM river_job").fetchone() == (reported,)


PSYCOPG2_PROJECT = """
import sys
from importlib.abc import MetaPathFinder

class NoPsycopg3(MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ImportError("psycopg 3 is hidden from Django")

sys.meta_path.insert(0, NoPsycopg3())
import django
from django.conf import settings
from tests.django_project import settings as project

# The project's database, without riverboat's app: installing it would import psycopg 3.
settings.configure(DATABASES=project.DATABASES, RIVERBOAT=project.RIVERBOAT)
django.setup()
from django.db import connection
connection.ensure_connection()
sys.meta_path.pop(0)

from riverboat.contrib.django import insert_tx
from riverboat import RawArgs, ValidationError
try:
    insert_tx(RawArgs("ship_order", {"order_id": 1}))
except ValidationError as exc:
    print(exc)
"""


def test_a_psycopg2_project_is_told_what_it_needs(bare_db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PSYCOPG2_PROJECT],
        env=django_env(bare_db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == (
        "invalid DATABASES['default'] (choice): must use Django's PostgreSQL backend on psycopg 3 "
        "(Django 4.2 or newer with psycopg installed: pip install 'riverboat[django]'), not psycopg2"
    ), result.stderr
