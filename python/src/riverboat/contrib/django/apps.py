"""The Django app: add ``"riverboat.contrib.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig


class RiverboatConfig(AppConfig):
    name = "riverboat.contrib.django"
    label = "riverboat"
    verbose_name = "riverboat"
