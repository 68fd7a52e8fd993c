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
from riverboat.contract import ArgsContractError, Contract, UnknownKindError, meta_schema
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
        "unique_opts": {"by_args": ["order_id"], "by_period_seconds": 3600.0},
    }
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
    with pytest.raises(UnknownKindError, match="not in the client's job-args contract"):
        contract.check("nope", b"{}")


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
        with pytest.raises(UnknownKindError):
            client.insert(RawArgs("unknown_kind", {}))
        with pytest.raises(ArgsContractError, match="required"):
            client.insert_many_fast([RawArgs("ping", {}), RawArgs("ship_order", {"order_id": 9})])
    assert _count(conn) == 2


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
