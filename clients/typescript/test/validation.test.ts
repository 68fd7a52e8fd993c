// Bad input is rejected with a ValidationError naming the field and the rule, before any
// SQL is sent; a batch with one bad job sends nothing. A pool that notes every use stands
// in for the database here, and only here: what an accepted insert does is tested against
// PostgreSQL in insert.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Client, InsertOpts, JobArgs, rawJson, ValidationError } from "@riverboat/client";

/** A pool whose connections note each statement and answer nothing: a rejected job must not reach it. */
class UntouchedPool {
  sent: string[] = [];
  connects = 0;

  async connect() {
    this.connects++;
    return this.connection();
  }

  connection() {
    return {
      query: async (config: { text: string }) => {
        this.sent.push(config.text);
        return { rows: [] };
      },
      release: () => {},
    };
  }
}

function rejects(field: string, rule: string) {
  return (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.equal(e.rule, rule);
    assert.match(e.message, new RegExp(field.replace(/[.[\]]/g, "\\$&")));
    return true;
  };
}

const job = { kind: "k", args: { n: 1 } };

describe("invalid options are rejected before the database is touched", () => {
  const cases: [string, InsertOpts | Record<string, unknown>, string, string][] = [
    ["queue uppercase", { queue: "Bad" }, "queue", "pattern"],
    ["queue dot", { queue: "a.b" }, "queue", "pattern"],
    ["queue double separator", { queue: "a__b" }, "queue", "pattern"],
    ["queue leading separator", { queue: "_a" }, "queue", "pattern"],
    ["queue non-ASCII", { queue: "é" }, "queue", "pattern"],
    ["queue too long", { queue: "a".repeat(65) }, "queue", "length"],
    ["queue empty", { queue: "" }, "queue", "length"],
    ["queue not a string", { queue: 7 }, "queue", "type"],
    ["queue near miss (River's pattern backtracks on it)", { queue: "a".repeat(63) + "!" }, "queue", "pattern"],
    ["queue with a line feed", { queue: "default\n" }, "queue", "pattern"],
    ["priority 0", { priority: 0 }, "priority", "range"],
    ["priority 5", { priority: 5 }, "priority", "range"],
    ["priority fractional", { priority: 1.5 }, "priority", "type"],
    ["priority string", { priority: "2" }, "priority", "type"],
    ["maxAttempts 0", { maxAttempts: 0 }, "maxAttempts", "range"],
    ["maxAttempts past smallint", { maxAttempts: 32768 }, "maxAttempts", "range"],
    ["scheduledAt naive", { scheduledAt: "2030-01-01T00:00:00" }, "scheduledAt", "format"],
    ["scheduledAt not RFC 3339", { scheduledAt: "tomorrow" }, "scheduledAt", "format"],
    ["scheduledAt out of range", { scheduledAt: "2030-02-30T00:00:00Z" }, "scheduledAt", "range"],
    ["scheduledAt invalid Date", { scheduledAt: new Date("nope") }, "scheduledAt", "type"],
    ["scheduledAt a number", { scheduledAt: 1700000000000 }, "scheduledAt", "type"],
    ["pending not boolean", { pending: "yes" }, "pending", "type"],
    ["tags not a list", { tags: "abc" }, "tags", "type"],
    ["tag with comma", { tags: ["a,b,c"] }, "tags", "pattern"],
    ["tag with space", { tags: ["a bc"] }, "tags", "pattern"],
    ["tag leading hyphen", { tags: ["-abc"] }, "tags", "pattern"],
    ["tag non-ASCII", { tags: ["café"] }, "tags", "pattern"],
    ["tag too short", { tags: ["ab"] }, "tags", "length"],
    ["tag too long", { tags: ["a".repeat(256)] }, "tags", "length"],
    ["metadata array", { metadata: [1] }, "metadata", "type"],
    ["metadata string", { metadata: "x" }, "metadata", "type"],
    ["metadata RawJson array", { metadata: rawJson("[1]") }, "metadata", "type"],
    ["metadata reserved key", { metadata: { "river:x": 1 } }, "metadata", "reserved"],
    ["metadata NaN", { metadata: { x: NaN } }, "metadata.x", "json"],
    ["metadata key with U+0000", { metadata: { "bad\u0000key": 1 } }, "metadata", "json"],
    ["metadata value with U+0000", { metadata: { a: ["x\u0000"] } }, "metadata", "json"],
    ["unknown option", { maxAttempt: 3 }, "maxAttempt", "choice"],
    ["uniqueOpts not an object", { uniqueOpts: true }, "uniqueOpts", "type"],
    ["byPeriod under a second", { uniqueOpts: { byPeriod: 999 } }, "uniqueOpts.byPeriod", "range"],
    ["byPeriod not a number", { uniqueOpts: { byPeriod: "1h" } }, "uniqueOpts.byPeriod", "type"],
    ["byPeriod not whole seconds", { uniqueOpts: { byPeriod: 1500 } }, "uniqueOpts.byPeriod", "range"],
    ["byState empty", { uniqueOpts: { byState: [] } }, "uniqueOpts.byState", "required_states"],
    [
      "byState unknown state",
      { uniqueOpts: { byState: ["available", "pending", "running", "scheduled", "done"] } },
      "uniqueOpts.byState",
      "unknown_state",
    ],
    [
      "byState missing required",
      { uniqueOpts: { byState: ["available", "pending", "running"] } },
      "uniqueOpts.byState",
      "required_states",
    ],
    ["byArgs array index", { uniqueOpts: { byArgs: ["items.0"] } }, "uniqueOpts.byArgs", "path"],
    ["byArgs not boolean", { uniqueOpts: { byArgs: "yes" } }, "uniqueOpts.byArgs", "type"],
    [
      "excludeKind alone",
      { uniqueOpts: { excludeKind: true, byState: ["available", "pending", "running", "scheduled"] } },
      "uniqueOpts.excludeKind",
      "requires_dimension",
    ],
    [
      "excludeKind with an empty byArgs list",
      { uniqueOpts: { byArgs: [], excludeKind: true } },
      "uniqueOpts.excludeKind",
      "requires_dimension",
    ],
    ["unknown unique option", { uniqueOpts: { byKind: true } }, "uniqueOpts.byKind", "choice"],
  ];
  for (const [name, opts, field, rule] of cases) {
    test(name, async () => {
      const pool = new UntouchedPool();
      await assert.rejects(new Client(pool).insert(job, opts as InsertOpts), rejects(field, rule));
      assert.equal(pool.connects, 0);
    });
  }
});

describe("invalid args are rejected", () => {
  const cases: [string, unknown, string, string][] = [
    ["a string", "email", "args", "type"],
    ["null", null, "args", "type"],
    ["an array", [1, 2], "args", "type"],
    ["args an array", { kind: "k", args: [1] }, "args", "type"],
    ["args a string", { kind: "k", args: "x" }, "args", "type"],
    ["args RawJson of an array", { kind: "k", args: rawJson("[1, 2]") }, "args", "type"],
    ["args RawJson not JSON", { kind: "k", args: rawJson("{nope") }, "args", "json"],
    ["args with NaN", { kind: "k", args: { x: NaN } }, "args.x", "json"],
    ["args with U+0000", { kind: "k", args: { s: "a\u0000b" } }, "args", "json"],
    ["args RawJson with U+0000 in a key", { kind: "k", args: rawJson('{"a":{"b\\u0000":1}}') }, "args", "json"],
    ["kind missing", { args: {} }, "kind", "type"],
    ["kind empty", { kind: "", args: {} }, "kind", "length"],
    ["kind too long", { kind: "k".repeat(128), args: {} }, "kind", "length"],
    ["unexpected member", { kind: "k", args: {}, queue: "q" }, "args", "choice"],
    [
      "class without a static kind",
      new (class NoKind {
        to = "x";
      })(),
      "kind",
      "required",
    ],
  ];
  for (const [name, args, field, rule] of cases) {
    test(name, async () => {
      const pool = new UntouchedPool();
      await assert.rejects(new Client(pool).insert(args as JobArgs), rejects(field, rule));
      assert.equal(pool.connects, 0);
    });
  }
});

describe("client configuration", () => {
  test("schema must be an identifier", () => {
    assert.throws(() => new Client(new UntouchedPool(), { schema: 'x"; DROP' }), rejects("schema", "pattern"));
    assert.throws(() => new Client(new UntouchedPool(), { schema: "s".repeat(47) }), rejects("schema", "length"));
  });
  test("client defaults are checked", () => {
    assert.throws(() => new Client(new UntouchedPool(), { queue: "Q" }), rejects("queue", "pattern"));
    assert.throws(() => new Client(new UntouchedPool(), { priority: 9 }), rejects("priority", "range"));
  });
});

describe("batches", () => {
  test("one bad job rejects the whole batch and nothing is sent", async () => {
    const pool = new UntouchedPool();
    const client = new Client(pool);
    await assert.rejects(
      client.insertMany([job, { args: job, opts: { priority: 7 } }, job]),
      rejects("priority", "range"),
    );
    assert.equal(pool.connects, 0);
    await assert.rejects(
      client.insertManyTx(pool.connection(), [job, { kind: "k", args: [] }]),
      rejects("args", "type"),
    );
    assert.deepEqual(pool.sent, []);
  });
  test("an empty batch is refused, as River Go's InsertMany refuses it, and sends nothing", async () => {
    const pool = new UntouchedPool();
    await assert.rejects(new Client(pool).insertMany([]), rejects("params", "length"));
    await assert.rejects(new Client(pool).insertManyTx(pool.connection(), []), rejects("params", "length"));
    assert.equal(pool.connects, 0);
    assert.deepEqual(pool.sent, []);
  });
});
