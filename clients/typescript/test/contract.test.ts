// The job-args contract (spec/05-args-contract.md): loading, checking args, kind defaults.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ArgsContractError, Client, Contract, UnknownKindError, ValidationError } from "@riverboat/client";

import { TestDatabase } from "./db";

const SHIP_ORDER = {
  type: "object",
  properties: { order_id: { type: "integer" }, items: { type: "array", items: { type: "string" } } },
  required: ["order_id", "items"],
};

const DOCUMENT = {
  riverboat_contract: 1,
  kinds: {
    ship_order: {
      args_schema: SHIP_ORDER,
      insert_opts: {
        queue: "shipping",
        priority: 2,
        tags: ["orders"],
        unique_opts: { by_args: ["order_id"], by_period_seconds: 3600 },
      },
    },
    ping: { args_schema: true },
  },
};

/** A pool that must never be used: every test here fails before SQL, or not at all. */
const noPool = {
  connect: () => Promise.reject(new Error("the database must not be touched")),
};

describe("loading", () => {
  test("a valid document, as an object or text", () => {
    assert.deepEqual([...Contract.fromJson(DOCUMENT).kinds.keys()], ["ship_order", "ping"]);
    assert.deepEqual([...Contract.fromJson(JSON.stringify(DOCUMENT)).kinds.keys()], ["ship_order", "ping"]);
  });
  test("a meta-schema violation is rule contract and names the JSON pointer and the keyword", () => {
    const bad = structuredClone(DOCUMENT) as { kinds: { ship_order: { insert_opts: { priority: number } } } };
    bad.kinds.ship_order.insert_opts.priority = 9;
    assert.throws(
      () => Contract.fromJson(bad),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.field === "contract" &&
        e.rule === "contract" &&
        e.message.includes("'/kinds/ship_order/insert_opts/priority': maximum"),
    );
  });
  test("a missing version is refused", () => {
    assert.throws(
      () => Contract.fromJson({ kinds: {} }),
      (e: unknown) => e instanceof ValidationError && e.rule === "contract" && e.message.includes("required"),
    );
  });
  test("an invalid args schema is refused", () => {
    assert.throws(
      () => Contract.fromKinds({ k: { argsSchema: { type: "no-such-type" } } }),
      (e: unknown) => e instanceof ValidationError && e.field === "contract.kinds.k.argsSchema" && e.rule === "format",
    );
  });
  test("an unsupported draft is refused", () => {
    assert.throws(
      () => Contract.fromKinds({ k: { argsSchema: { $schema: "http://json-schema.org/draft-04/schema#" } } }),
      (e: unknown) => e instanceof ValidationError && e.field === "contract.kinds.k.argsSchema" && e.rule === "choice",
    );
  });
  test("draft-07 and 2019-09 schemas work; kinds may share an $id", () => {
    const id = "https://example.com/args.json";
    const contract = Contract.fromKinds({
      a: {
        argsSchema: { $schema: "http://json-schema.org/draft-07/schema#", $id: id, type: "object", required: ["x"] },
      },
      b: { argsSchema: { $schema: "http://json-schema.org/draft-07/schema", $id: id, type: "object" } },
      c: { argsSchema: { $schema: "https://json-schema.org/draft/2019-09/schema", type: "object", required: ["y"] } },
    });
    assert.throws(() => contract.check("a", "{}"), ArgsContractError);
    contract.check("b", "{}");
    assert.throws(() => contract.check("c", "{}"), ArgsContractError);
  });
  test("toJson round-trips, kinds sorted", () => {
    const doc = Contract.fromJson(DOCUMENT).toJson();
    assert.deepEqual(Object.keys(doc.kinds), ["ping", "ship_order"]);
    assert.deepEqual(Contract.fromJson(doc).toJson(), doc);
    assert.deepEqual(
      (doc.kinds.ship_order as { insert_opts: unknown }).insert_opts,
      DOCUMENT.kinds.ship_order.insert_opts,
    );
  });
});

describe("checking args on insert", () => {
  const client = new Client(noPool, { contract: DOCUMENT });
  test("a violation names the kind, the JSON pointer and the keyword", async () => {
    await assert.rejects(client.insert({ kind: "ship_order", args: { order_id: 1, items: [1] } }), (e: unknown) => {
      assert.ok(e instanceof ArgsContractError);
      assert.equal(e.kind, "ship_order");
      assert.equal(e.pointer, "/items/0");
      assert.equal(e.keyword, "type");
      assert.equal(e.field, "args");
      assert.equal(e.rule, "contract");
      assert.match(e.message, /ship_order.*'?\/items\/0/);
      return true;
    });
  });
  test("a missing property points at its parent", async () => {
    await assert.rejects(
      client.insert({ kind: "ship_order", args: { items: [] } }),
      (e: unknown) => e instanceof ArgsContractError && e.pointer === "" && e.keyword === "required",
    );
  });
  test("a kind outside the contract is not checked", () => {
    const contract = Contract.fromJson(DOCUMENT);
    assert.equal(contract.has("other"), false);
    contract.check("other", '{"anything": [1]}');
  });
  test("strict mode refuses a kind outside the contract", async () => {
    const strict = new Client(noPool, { contract: DOCUMENT, strictContract: true });
    await assert.rejects(
      strict.insert({ kind: "other", args: {} }),
      (e: unknown) => e instanceof UnknownKindError && e.field === "kind" && e.rule === "choice",
    );
  });
  test("one violation rejects the whole batch", async () => {
    await assert.rejects(
      client.insertMany([
        { kind: "ping", args: {} },
        { kind: "ship_order", args: { order_id: "x", items: [] } },
      ]),
      ArgsContractError,
    );
  });
});

describe("kind defaults from the contract", () => {
  let db: TestDatabase;
  before(async () => {
    db = await TestDatabase.create();
  });
  after(async () => {
    await db.end();
  });
  test("jobs without their own insertOpts take the contract's", async () => {
    const client = new Client(db.pool, { contract: Contract.fromJson(DOCUMENT) });
    await client.insert({ kind: "ship_order", args: { order_id: 7, items: ["a"] } }, { priority: 4 });
    // A class is the kind's definition: without its own insertOpts it has no defaults.
    class ShipOrder {
      static kind = "ship_order";
      constructor(
        readonly order_id: number,
        readonly items: string[],
      ) {}
    }
    await client.insert(new ShipOrder(8, []));
    const rows = await db.rows(
      "SELECT priority, queue, tags, length(unique_key) AS key_length, unique_states::integer AS states" +
        " FROM river_job ORDER BY id",
    );
    assert.deepEqual(rows, [
      { priority: 4, queue: "shipping", tags: ["orders"], key_length: 32, states: 245 },
      { priority: 1, queue: "default", tags: [], key_length: null, states: null },
    ]);
  });
});
