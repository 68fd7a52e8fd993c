"""``manage.py riverboat_work``: work ``RIVERBOAT["QUEUES"]`` with ``RIVERBOAT["WORKERS"]``
until SIGINT or SIGTERM (the first stops softly, letting running jobs finish; a second
cancels them), as ``riverboat work`` does outside Django."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from riverboat._working import freeze_startup_objects
from riverboat.contrib.django import working_client
from riverboat.errors import RiverboatError


class Command(BaseCommand):
    help = "Work riverboat jobs with the queues and workers of settings.RIVERBOAT until SIGINT/SIGTERM."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = working_client()
        except RiverboatError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"riverboat: worker {client.client_id} started; SIGINT or SIGTERM stops it")
        freeze_startup_objects()
        client.run()
