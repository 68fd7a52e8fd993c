"""The shop's job: ship an order. Its worker is a plain ``def``, so it runs in a thread
and may use the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from riverboat import Worker, Workers, WorkJob
from tests.django_project.shop.models import Order


@dataclass
class ShipOrder:
    kind: ClassVar[str] = "ship_order"
    order_id: int


class ShipOrderWorker(Worker[ShipOrder]):
    kind = "ship_order"
    args_type = ShipOrder

    def work(self, job: WorkJob[ShipOrder]) -> None:
        Order.objects.filter(id=job.args.order_id).update(shipped=True)


workers = Workers(ShipOrderWorker())
