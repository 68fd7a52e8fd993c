"""Settings of the test project: the database is ``DATABASE_URL`` (the test's own)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

# Parsed without psycopg: one test hides psycopg 3 from Django, as on a psycopg2 project.
_database = urlsplit(os.environ["DATABASE_URL"])

SECRET_KEY = "riverboat-tests"
USE_TZ = True
INSTALLED_APPS = ["riverboat.contrib.django", "tests.django_project.shop"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": _database.username or "",
        "HOST": _database.hostname or "",
        "PORT": str(_database.port or ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
RIVERBOAT = {
    "QUEUES": {"default": {"max_workers": 2}},
    "WORKERS": "tests.django_project.shop.jobs.workers",
}
