"""Worker.decode_args: args decoded as Go's encoding/json decodes them
(spec/05-args-contract.md#decoding)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pydantic
import pytest

from riverboat.errors import ValidationError
from riverboat.worker import Worker, WorkJob, _args_adapter


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Line:
    sku: str
    quantity: int


@dataclass
class Order:
    kind: ClassVar[str] = "order"
    id: int
    placed_at: datetime
    due: date
    colour: Colour
    total: Decimal
    lines: list[Line]
    by_warehouse: dict[str, Line]
    note: str | None
    gift: Line | None = None
    priority: int = 3
    tags: list[str] = field(default_factory=list)


class OrderModel(pydantic.BaseModel):
    id: int
    lines: list[Line]


class OrderWorker(Worker[Order]):
    kind = "order"
    args_type = Order

    async def work(self, job: WorkJob[Order]) -> None:
        return None


class ModelWorker(Worker[OrderModel]):
    kind = "order_model"
    args_type = OrderModel

    async def work(self, job: WorkJob[OrderModel]) -> None:
        return None


class RawWorker(Worker[dict[str, Any]]):
    kind = "raw"

    async def work(self, job: WorkJob[dict[str, Any]]) -> None:
        return None


ORDER = {
    "id": 7,
    "placed_at": "2026-01-02T03:04:05.123456789Z",
    "due": "2026-01-09",
    "colour": "blue",
    "total": 12.5,
    "lines": [{"sku": "a", "quantity": 2}],
    "by_warehouse": {"north": {"sku": "b", "quantity": 1}},
    "note": None,
}


def test_declared_types_are_built() -> None:
    order = OrderWorker().decode_args(ORDER)
    assert order == Order(
        id=7,
        placed_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        due=date(2026, 1, 9),
        colour=Colour.BLUE,
        total=Decimal("12.5"),
        lines=[Line("a", 2)],
        by_warehouse={"north": Line("b", 1)},
        note=None,
    )
    assert OrderWorker().decode_args({**ORDER, "gift": {"sku": "c", "quantity": 1}, "note": "hi"}).gift == Line("c", 1)


def test_a_field_the_producer_added_is_ignored() -> None:
    # A rolling deploy: the inserting side already sends a field this worker does not know.
    order = OrderWorker().decode_args({**ORDER, "coupon": "SAVE10", "lines": [{"sku": "a", "quantity": 2, "x": 1}]})
    assert order.lines == [Line("a", 2)]
    assert not hasattr(order, "coupon")


def test_a_missing_field_with_a_default_takes_the_default() -> None:
    order = OrderWorker().decode_args(ORDER)
    assert (order.gift, order.priority, order.tags) == (None, 3, [])


def test_a_missing_field_without_a_default_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderWorker().decode_args({k: v for k, v in ORDER.items() if k != "due"})
    assert (caught.value.field, caught.value.rule) == ("args.due", "required")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "7"}, "args.id"),  # Go: cannot unmarshal string into int
        ({"id": 7.0}, "args.id"),  # Go: cannot unmarshal number 7.0 into int
        ({"id": True}, "args.id"),
        ({"placed_at": "2026-01-02"}, "args.placed_at"),  # Go's time.Time wants RFC 3339
        ({"colour": "green"}, "args.colour"),
        ({"lines": [{"sku": "a", "quantity": "2"}]}, "args.lines[0].quantity"),
        ({"by_warehouse": {"north": {"sku": 1, "quantity": 1}}}, "args.by_warehouse.north.sku"),
    ],
)
def test_a_value_of_the_wrong_type_fails_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OrderWorker().decode_args({**ORDER, **change})
    assert (caught.value.field, caught.value.rule) == (field, "type")
    assert field in str(caught.value)
    assert "Order" in str(caught.value)


def test_errors_never_carry_the_args_values() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderWorker().decode_args({**ORDER, "id": "secret-value"})
    assert "secret-value" not in str(caught.value)


def test_pydantic_models_decode_the_same_way() -> None:
    model = ModelWorker().decode_args({"id": 1, "lines": [{"sku": "a", "quantity": 1}], "extra": True})
    assert model == OrderModel(id=1, lines=[Line("a", 1)])
    with pytest.raises(ValidationError, match=r"args\.id"):
        ModelWorker().decode_args({"id": "1", "lines": []})


@pytest.mark.parametrize(
    ("raw", "named"),
    [('{"id": 7}', "a JSON string"), ([1], "a JSON array"), (7, "a JSON number"), (None, "null")],
)
def test_args_that_are_not_an_object_are_refused(raw: object, named: str) -> None:
    for worker in (OrderWorker(), RawWorker()):
        with pytest.raises(ValidationError) as caught:
            worker.decode_args(raw)
        assert (caught.value.field, caught.value.rule) == ("args", "type")
        assert named in str(caught.value)


def test_without_args_type_the_object_is_given_as_is() -> None:
    raw = {"n": 1, "nested": {"x": [1, 2]}}
    assert RawWorker().decode_args(raw) is raw


def test_adapters_are_built_once_per_type() -> None:
    assert _args_adapter(Order) is _args_adapter(Order)
