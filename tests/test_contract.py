"""The job-args contract (spec/05-args-contract.md): export from kinds, the meta-schema, the
CLI, and a client that validates args with it before inserting."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import psycopg
import pytest
from click.testing import CliRunner

from riverboat import AsyncClient, Client, QueueConfig, Worker, Workers, WorkJob
from riverboat._insert import InsertOpts
from riverboat._states import JobState
from riverboat._unique import UniqueOpts
from riverboat.args import RawArgs
from riverboat.cli import main
from riverboat.contract import ArgsContractError, Contract, KindContract, UnknownKindError, meta_schema
from riverboat.errors import ValidationError
from tests.helpers import await_until


@dataclass
class Address:
    city: str
    zip: str


@dataclass
class ShipOrder:
    kind: ClassVar[str] = "ship_order"
    insert_opts: ClassVar[InsertOpts] = InsertOpts(
        queue="shipping",
        priority=2,
        tags=("orders",),
        unique_opts=UniqueOpts(by_args=("order_id",), by_period=timedelta(hours=1)),
    )
    order_id: int
    address: Address
    items: list[str]


@dataclass
class Ping:
    kind: ClassVar[str] = "ping"
    json_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"n": {"type": "integer", "maximum": 10}},
        "additionalProperties": False,
    }
    n: int


KINDS = [ShipOrder, Ping]


def test_export_matches_meta_schema_and_round_trips() -> None:
    doc = Contract.from_kinds(KINDS).to_json()
    jsonschema.Draft202012Validator(meta_schema()).validate(doc)
    assert list(doc["kinds"]) == ["ping", "ship_order"]
    ship = doc["kinds"]["ship_order"]
    assert ship["insert_opts"] == {
        "queue": "shipping",
        "priority": 2,
        "tags": ["orders"],
        "unique_opts": {"by_args": ["order_id"], "by_period_seconds": 3600},
    }
    assert type(ship["insert_opts"]["unique_opts"]["by_period_seconds"]) is int
    assert ship["args_schema"]["required"] == ["order_id", "address", "items"]
    assert doc["kinds"]["ping"]["args_schema"] == Ping.json_schema
    again = Contract.from_json(json.dumps(doc))
    assert again.to_json() == doc
    assert again.kinds["ship_order"].insert_opts == ShipOrder.insert_opts


def test_meta_schema_rejects_bad_documents() -> None:
    with pytest.raises(ValidationError, match="JSON pointer '/kinds/k/insert_opts/priority'"):
        Contract.from_json(
            {"riverboat_contract": 1, "kinds": {"k": {"args_schema": {}, "insert_opts": {"priority": 9}}}}
        )
    with pytest.raises(ValidationError, match="required"):
        Contract.from_json({"kinds": {}})
    with pytest.raises(ValidationError, match="by_state"):
        Contract.from_json(
            {
                "riverboat_contract": 1,
                "kinds": {"k": {"args_schema": {}, "insert_opts": {"unique_opts": {"by_state": ["available"]}}}},
            }
        )


def test_invalid_args_schema_rejected() -> None:
    with pytest.raises(ValidationError, match="not a valid JSON Schema"):
        Contract.from_json({"riverboat_contract": 1, "kinds": {"k": {"args_schema": {"type": 7}}}})


def test_check_names_kind_pointer_and_rule() -> None:
    contract = Contract.from_kinds(KINDS)
    contract.check("ship_order", b'{"order_id":1,"address":{"city":"x","zip":"y"},"items":[]}')
    with pytest.raises(ArgsContractError) as err:
        contract.check("ship_order", b'{"order_id":1,"address":{"city":"x","zip":5},"items":[]}')
    assert (err.value.kind, err.value.pointer, err.value.keyword) == ("ship_order", "/address/zip", "type")
    assert "ship_order" in str(err.value)
    assert "/address/zip" in str(err.value)
    with pytest.raises(ArgsContractError) as err:
        contract.check("ping", b'{"n":11}')
    assert (err.value.pointer, err.value.keyword) == ("/n", "maximum")


def test_kinds_the_contract_does_not_list_pass_unless_strict() -> None:
    Contract.from_kinds(KINDS).check("nope", b'{"anything": 1}')
    strict = Contract.from_kinds(KINDS, strict=True)
    with pytest.raises(UnknownKindError, match="not in the client's strict job-args contract") as err:
        strict.check("nope", b"{}")
    assert (err.value.code, err.value.field, err.value.kind) == ("unknown_kind", "kind", "nope")
    strict.check("ping", b'{"n":1}')
    doc = Contract.from_kinds(KINDS).to_json()
    assert Contract.from_json(doc, strict=True).strict
    assert not Contract.from_json(doc).strict
    with pytest.raises(ValidationError, match="strict"):
        Contract({}, strict="yes")  # type: ignore[arg-type]


def test_null_members_of_insert_opts_are_unset() -> None:
    doc = {
        "riverboat_contract": 1,
        "kinds": {
            "a": {
                "args_schema": {},
                "insert_opts": {"queue": "q", "priority": None, "tags": None, "unique_opts": None},
            },
            "b": {
                "args_schema": {},
                "insert_opts": {
                    "metadata": None,
                    "scheduled_at": None,
                    "unique_opts": {
                        "by_args": None,
                        "by_period_seconds": 60,
                        "by_queue": None,
                        "by_state": None,
                        "exclude_kind": None,
                    },
                },
            },
            "c": {"args_schema": {}, "insert_opts": {"unique_opts": {"by_args": None, "by_queue": True}}},
        },
    }
    contract = Contract.from_json(doc)
    assert contract.kinds["a"].insert_opts == InsertOpts(queue="q")
    assert contract.kinds["b"].insert_opts == InsertOpts(unique_opts=UniqueOpts(by_period=timedelta(minutes=1)))
    assert contract.kinds["c"].insert_opts == InsertOpts(unique_opts=UniqueOpts(by_queue=True))
    assert Contract.from_json(contract.to_json()).to_json() == contract.to_json()


def _violation(schema: dict[str, Any] | bool, args: Any) -> tuple[str, str]:
    with pytest.raises(ArgsContractError) as err:
        Contract({"k": KindContract(schema)}).check("k", json.dumps(args).encode())
    return err.value.pointer, err.value.keyword


SHIP = Contract.from_json(
    {
        "riverboat_contract": 1,
        "kinds": {
            "ship_order": {
                "args_schema": {
                    "type": "object",
                    "properties": {
                        "order_id": {"type": "integer"},
                        "items": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["order_id", "items"],
                }
            }
        },
    }
).kinds["ship_order"].args_schema
OPTIONAL_B = {"properties": {"a": {"anyOf": [{"type": "null"}, {"properties": {"b": {"type": "integer"}}}]}}}


# spec/05-args-contract.md#violations: the failed keyword with the shortest pointer.
@pytest.mark.parametrize(
    ("schema", "args", "expected"),
    [
        (SHIP, {"order_id": "7", "items": [1]}, ("/order_id", "type")),  # the spec's example
        (SHIP, {"items": [1]}, ("", "required")),
        ({"required": ["to"]}, {}, ("", "required")),
        ({"properties": {"m": {"required": ["to"]}}}, {"m": {}}, ("/m", "required")),
        # anyOf, oneOf, not and contains are the violation themselves, not what fails inside them.
        (OPTIONAL_B, {"a": {"b": "x"}}, ("/a", "anyOf")),
        ({"properties": {"a": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}, {"a": 1.5}, ("/a", "oneOf")),
        ({"properties": {"a": {"not": {"properties": {"b": {"const": 1}}}}}}, {"a": {"b": 1}}, ("/a", "not")),
        ({"properties": {"l": {"contains": {"const": 1}}}}, {"l": [2, {"x": 3}]}, ("/l", "contains")),
        # Member keywords point at the object.
        ({"properties": {"m": {"propertyNames": {"maxLength": 2}}}}, {"m": {"abc": 1}}, ("/m", "propertyNames")),
        ({"properties": {"m": {"additionalProperties": False}}}, {"m": {"x": 1}}, ("/m", "additionalProperties")),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, ("", "dependentRequired")),
        ({"properties": {"m": {"minProperties": 2}}}, {"m": {"x": 1}}, ("/m", "minProperties")),
        # Applicators are looked through, a false subschema included.
        ({"additionalProperties": {"type": "integer"}}, {"z": "x"}, ("/z", "type")),
        ({"$defs": {"n": {"maximum": 1}}, "properties": {"a": {"$ref": "#/$defs/n"}}}, {"a": 2}, ("/a", "maximum")),
        ({"allOf": [{"properties": {"a": {"type": "string"}}}]}, {"a": 1}, ("/a", "type")),
        ({"properties": {"a": False}}, {"a": 1}, ("/a", "false")),
        ({"properties": {"l": {"prefixItems": [{}], "items": False}}}, {"l": [1, 2]}, ("/l/1", "false")),
        (False, {}, ("", "false")),
        # The shortest pointer wins, wherever it is in the schema.
        ({"properties": {"a": {"properties": {"b": {"type": "string"}}}, "z": {"type": "string"}}},
         {"a": {"b": 1}, "z": 1}, ("/z", "type")),
        ({"properties": {"a": {"items": {"type": "string"}}}, "required": ["x"]}, {"a": [1]}, ("", "required")),
        # Equally short: the smaller pointer, whatever order the members or schema come in.
        ({"additionalProperties": {"type": "integer"}}, {"z": "x", "b": "y", "m": "w"}, ("/b", "type")),
        ({"properties": {"z": {"type": "string"}, "a": {"type": "string"}}}, {"z": 1, "a": 1}, ("/a", "type")),
    ],
)
def test_the_reported_violation_follows_the_spec(
    schema: dict[str, Any] | bool, args: Any, expected: tuple[str, str]
) -> None:
    assert _violation(schema, args) == expected


def test_meta_schema_violations_follow_the_same_rule() -> None:
    doc = {"riverboat_contract": 1, "kinds": {"k": {"args_schema": {}, "insert_opts": {"unique_opts": {}}}}}
    doc["kinds"]["k"]["insert_opts"]["unique_opts"] = {"by_args": ["a", ""], "by_queue": "yes"}
    with pytest.raises(ValidationError) as err:
        Contract.from_json(doc)
    assert err.value.field == "contract at JSON pointer '/kinds/k/insert_opts/unique_opts/by_args'"
    assert err.value.message.startswith("oneOf: ")


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM river_job").fetchone()
    assert row is not None
    return int(row[0])


def test_client_with_contract(db_url: str, conn: psycopg.Connection[Any]) -> None:
    contract = Contract.from_json(Contract.from_kinds(KINDS).to_json())
    with Client(db_url, contract=contract) as client:
        good = client.insert(ShipOrder(order_id=1, address=Address("x", "y"), items=["a"])).job
        assert (good.queue, good.priority, good.tags) == ("shipping", 2, ["orders"])
        # A kind defined elsewhere, inserted raw, takes its defaults from the contract.
        raw = client.insert(RawArgs("ship_order", {"order_id": 2, "address": {"city": "c", "zip": "z"}, "items": []}))
        assert (raw.job.queue, raw.job.priority, raw.job.unique_key is not None) == ("shipping", 2, True)
        with pytest.raises(ArgsContractError, match="/items/0"):
            client.insert_many(
                [Ping(n=1), RawArgs("ship_order", {"order_id": 3, "address": {"city": "c", "zip": "z"}, "items": [1]})]
            )
        with pytest.raises(ArgsContractError, match="required"):
            client.insert_many_fast([RawArgs("ping", {}), RawArgs("ship_order", {"order_id": 9})])
        # A kind the contract does not list is inserted unchecked.
        assert client.insert(RawArgs("unlisted_kind", {"n": "anything"})).job.kind == "unlisted_kind"
    assert _count(conn) == 3
    strict = Contract.from_json(contract.to_json(), strict=True)
    with Client(db_url, contract=strict) as client:
        with pytest.raises(UnknownKindError):
            client.insert_many([Ping(n=1), RawArgs("unlisted_kind", {})])
        with pytest.raises(UnknownKindError):
            client.insert_many_fast([Ping(n=1), RawArgs("unlisted_kind", {})])
        client.insert(Ping(n=2))
    assert _count(conn) == 4


def test_contract_default_does_not_override_per_insert_opts(db_url: str) -> None:
    with Client(db_url, contract=Contract.from_kinds(KINDS)) as client:
        job = client.insert(
            RawArgs("ping", {"n": 1}), InsertOpts(queue="other", scheduled_at=datetime(2030, 1, 1, tzinfo=UTC))
        ).job
    assert (job.queue, job.state) == ("other", JobState.SCHEDULED)


def test_cli_export(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["contract", "export", "tests.test_contract:KINDS"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == Contract.from_kinds(KINDS).to_json()
    out = tmp_path / "contract.json"
    result = runner.invoke(main, ["contract", "export", "tests.test_contract:KINDS", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert Contract.load(out).to_json() == Contract.from_kinds(KINDS).to_json()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests.test_contract", "must be module:attr"),
        ("tests.no_such_module:X", "cannot be imported"),
        ("tests.test_contract:MISSING", "has no attribute"),
        ("tests.test_contract:Ping", "must name a Contract or a list"),
    ],
)
def test_cli_export_errors_are_one_line(target: str, message: str) -> None:
    result = CliRunner().invoke(main, ["contract", "export", target])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_export_imports_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_kinds.py").write_text(
        "from dataclasses import dataclass\n"
        "from typing import ClassVar\n\n\n"
        "@dataclass\n"
        "class Hello:\n"
        '    kind: ClassVar[str] = "hello"\n'
        "    name: str\n\n\n"
        "KINDS = [Hello]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    result = CliRunner().invoke(main, ["contract", "export", "my_kinds:KINDS"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)["kinds"]) == ["hello"]


async def test_bad_args_get_the_same_message_at_insert_and_at_work(db_url: str) -> None:
    contract = Contract.from_kinds([Ping])

    class PingWorker(Worker[Any]):
        kind = "ping"

        async def work(self, job: WorkJob[Any]) -> None:
            return None

    async with AsyncClient(db_url, contract=contract) as inserter:
        with pytest.raises(ArgsContractError) as at_insert:
            await inserter.insert(RawArgs("ping", {"n": 11}))
    # A writer without the contract stores the same args; the worker's check refuses them.
    async with AsyncClient(db_url) as plain:
        stored = (await plain.insert(RawArgs("ping", {"n": 11}))).job
    worker = AsyncClient(
        db_url,
        contract=contract,
        queues={"default": QueueConfig()},
        workers=Workers(PingWorker()),
        leader_election=False,
    )
    await worker.start()
    try:

        async def discarded() -> Any:
            job = await worker.job_get(stored.id)
            return job if job.state.value == "discarded" else None

        job = await await_until(discarded, what="the job to be discarded")
    finally:
        await worker.close()
    assert job.errors[-1].error == str(at_insert.value)
