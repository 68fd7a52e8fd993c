"""``manage.py place_order EMAIL [--fail]``: create an order and enqueue its shipping in one
transaction; ``--fail`` raises after both, so neither is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from riverboat.contrib.django import insert_tx
from tests.django_project.shop.jobs import ShipOrder
from tests.django_project.shop.models import Order


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--fail", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                order = Order.objects.create(email=options["email"])
                result = insert_tx(ShipOrder(order_id=order.id))
                if options["fail"]:
                    raise RuntimeError("payment declined")
        except RuntimeError as exc:
            self.stdout.write(f"rolled back: {exc}")
            return
        self.stdout.write(f"order {order.id} placed, job {result.job.id}")
