// Bad input is rejected with a ValidationError naming the field and the rule, before any
// SQL is sent; a batch with one bad job sends nothing. A recording fake pool stands in for
// the database (the conformance suite checks the real one).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Client, InsertOpts, JobArgs, rawJson, ValidationError } from "@riverboat/client";

type Sent = { text: string; values?: unknown[] };

/** A pool whose connection records statements and answers the insert with canned rows. */
class FakePool {
  sent: Sent[] = [];
  connects = 0;
  released = 0;

  async connect() {
    this.connects++;
    return {
      query: async (config: Sent) => this.query(config),
      release: () => {
        this.released++;
      },
    };
  }

  async query(config: Sent): Promise<{ rows: unknown[] }> {
    this.sent.push(config);
    if (!config.text.includes("INSERT INTO")) return { rows: [] };
    const v = config.values as unknown[][];
    const rows = (v[1] as string[]).map((args, i) => ({
      ord: String(i + 1),
      id: String(9007199254740993n + BigInt(i)),
      args,
      attempt: "0",
      attempted_at: null,
      attempted_by: "[]",
      created_at: "2026-01-02T03:04:05.678901Z",
      errors: "[]",
      finalized_at: null,
      kind: v[2]![i],
      max_attempts: String(v[3]![i]),
      metadata: v[4]![i],
      priority: String(v[5]![i]),
      queue: v[6]![i],
      scheduled_at: v[7]![i],
      state: v[8]![i],
      tags: JSON.stringify((v[9]![i] as string) === "" ? [] : (v[9]![i] as string).split(",")),
      unique_key: v[10]![i] === "" ? null : v[10]![i],
      unique_states: v[11]![i] === 0 ? null : String(v[11]![i]),
      unique_skipped_as_duplicate: "f",
    }));
    return { rows };
  }

  /** What was sent, as BEGIN / INSERT / NOTIFY / COMMIT / ROLLBACK. */
  statements(): string[] {
    return this.sent.map((s) =>
      s.text.includes("INSERT INTO") ? "INSERT" : s.text.includes("pg_notify") ? "NOTIFY" : s.text.trim(),
    );
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
    ["scheduledAt naive", { scheduledAt: "2030-01-01T00:00:00" }, "scheduledAt", "timezone"],
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
    ["metadata NaN", { metadata: { x: NaN } }, "metadata.x", "finite"],
    ["metadata key with U+0000", { metadata: { "bad\u0000key": 1 } }, "metadata", "json"],
    ["metadata value with U+0000", { metadata: { a: ["x\u0000"] } }, "metadata", "json"],
    ["unknown option", { maxAttempt: 3 }, "maxAttempt", "unknown"],
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
      "requires",
    ],
    [
      "excludeKind with an empty byArgs list",
      { uniqueOpts: { byArgs: [], excludeKind: true } },
      "uniqueOpts.excludeKind",
      "requires",
    ],
    ["unknown unique option", { uniqueOpts: { byKind: true } }, "uniqueOpts.byKind", "unknown"],
  ];
  for (const [name, opts, field, rule] of cases) {
    test(name, async () => {
      const pool = new FakePool();
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
    ["args with NaN", { kind: "k", args: { x: NaN } }, "args.x", "finite"],
    ["args with U+0000", { kind: "k", args: { s: "a\u0000b" } }, "args", "json"],
    ["args RawJson with U+0000 in a key", { kind: "k", args: rawJson('{"a":{"b\\u0000":1}}') }, "args", "json"],
    ["kind missing", { args: {} }, "kind", "type"],
    ["kind empty", { kind: "", args: {} }, "kind", "length"],
    ["kind too long", { kind: "k".repeat(128), args: {} }, "kind", "length"],
    ["unexpected member", { kind: "k", args: {}, queue: "q" }, "args", "shape"],
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
      const pool = new FakePool();
      await assert.rejects(new Client(pool).insert(args as JobArgs), rejects(field, rule));
      assert.equal(pool.connects, 0);
    });
  }
  test("kind length counts characters, not UTF-16 units", async () => {
    const pool = new FakePool();
    await new Client(pool).insert({ kind: "😀".repeat(127), args: {} });
    assert.equal(pool.connects, 1);
  });
});

describe("client configuration", () => {
  test("schema must be an identifier", () => {
    assert.throws(() => new Client(new FakePool(), { schema: 'x"; DROP' }), rejects("schema", "pattern"));
    assert.throws(() => new Client(new FakePool(), { schema: "s".repeat(47) }), rejects("schema", "length"));
  });
  test("client defaults are checked", () => {
    assert.throws(() => new Client(new FakePool(), { queue: "Q" }), rejects("queue", "pattern"));
    assert.throws(() => new Client(new FakePool(), { priority: 9 }), rejects("priority", "range"));
  });
  test("a custom schema is quoted into every table and function name", async () => {
    const pool = new FakePool();
    await new Client(pool, { schema: "my_schema" }).insert(job);
    const insert = pool.sent.find((s) => s.text.includes("INSERT"))!.text;
    assert.match(insert, /INSERT INTO "my_schema"\.river_job/);
    assert.match(insert, /::"my_schema"\.river_job_state/);
    assert.match(insert, /"my_schema"\.river_job_state_in_bitmask/);
    const notify = pool.sent.find((s) => s.text.includes("pg_notify"))!;
    assert.deepEqual(notify.values, ["my_schema", ["default"]]);
  });
});

describe("an empty byArgs list is the same as no byArgs", () => {
  test("alone it makes no job unique", async () => {
    const pool = new FakePool();
    await new Client(pool).insert(job, { uniqueOpts: { byArgs: [] } });
    const insert = pool.sent.find((s) => s.text.includes("INSERT INTO"))!;
    const values = insert.values as unknown[][];
    assert.deepEqual([values[10], values[11]], [[""], [0]]); // no key: the statement reads them as NULL
  });
});

describe("batches", () => {
  test("one bad job rejects the whole batch and nothing is sent", async () => {
    const pool = new FakePool();
    const client = new Client(pool);
    await assert.rejects(
      client.insertMany([job, { args: job, opts: { priority: 7 } }, job]),
      rejects("priority", "range"),
    );
    assert.equal(pool.connects, 0);
    const conn = await pool.connect();
    await assert.rejects(client.insertManyTx(conn, [job, { kind: "k", args: [] }]), rejects("args", "type"));
    assert.deepEqual(pool.sent, []);
  });
  test("results are placed by their ord, whatever order the rows come back in", async () => {
    const pool = new FakePool();
    const answer = pool.query.bind(pool);
    pool.query = async (config: Sent) => ({ rows: (await answer(config)).rows.reverse() });
    const results = await new Client(pool).insertMany([1, 2, 3].map((n) => ({ kind: "k", args: { n } })));
    assert.deepEqual(
      results.map((r) => r.job.args),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
    const lost = new FakePool();
    lost.query = async (config: Sent) => ({ rows: (await answer(config)).rows.slice(1) });
    await assert.rejects(new Client(lost).insertMany([job, job]), /returned/);
  });
  test("an empty batch is refused, as River Go's InsertMany refuses it, and sends nothing", async () => {
    const pool = new FakePool();
    await assert.rejects(new Client(pool).insertMany([]), rejects("params", "length"));
    await assert.rejects(new Client(pool).insertManyTx(pool, []), rejects("params", "length"));
    assert.equal(pool.connects, 0);
    assert.deepEqual(pool.sent, []);
  });
  test("own transaction: BEGIN, one INSERT, one notification, COMMIT", async () => {
    const pool = new FakePool();
    const results = await new Client(pool).insertMany([
      { kind: "k", args: { n: 1 }, insertOpts: { queue: "alpha" } },
      { args: { kind: "k", args: { n: 2 } }, opts: { queue: "alpha" } },
      { args: { kind: "k", args: { n: 3 } }, opts: { queue: "beta", scheduledAt: "2030-01-01T00:00:00+02:00" } },
      { args: { kind: "k", args: { n: 4 } }, opts: { queue: "gamma", pending: true } },
    ]);
    assert.deepEqual(pool.statements(), ["BEGIN", "INSERT", "NOTIFY", "COMMIT"]);
    assert.equal(pool.released, 1);
    // Only queues that received available jobs are notified, each once.
    assert.deepEqual(pool.sent[2]!.values, [null, ["alpha"]]);
    assert.deepEqual(
      results.map((r) => [r.job.queue, r.job.state, r.job.scheduledAt === "2029-12-31T22:00:00.000000Z"]),
      [
        ["alpha", "available", false],
        ["alpha", "available", false],
        ["beta", "scheduled", true],
        ["gamma", "pending", false],
      ],
    );
    assert.equal(results[0]!.job.id, 9007199254740993n);
  });
  test("repeated unique keys are sent once and reported as duplicates, in input order", async () => {
    const pool = new FakePool();
    const unique = { uniqueOpts: { byArgs: true } };
    const results = await new Client(pool).insertMany([
      { args: { kind: "k", args: { id: 1 } }, opts: unique },
      { args: { kind: "k", args: { id: 2 } }, opts: unique },
      { args: { kind: "k", args: { id: 1 } }, opts: unique },
    ]);
    const insert = pool.sent.find((s) => s.text.includes("INSERT"))!;
    assert.equal((insert.values![1] as string[]).length, 2);
    assert.deepEqual(
      results.map((r) => [r.job.args.id, r.uniqueSkippedAsDuplicate]),
      [
        [1, false],
        [2, false],
        [1, true],
      ],
    );
    assert.equal(results[2]!.job.id, results[0]!.job.id);
    assert.deepEqual(results[0]!.job.uniqueStates, [
      "available",
      "completed",
      "pending",
      "retryable",
      "running",
      "scheduled",
    ]);
  });
  test("a failed statement rolls back and releases the connection", async () => {
    const pool = new FakePool();
    pool.query = async (config: Sent) => {
      pool.sent.push(config);
      if (config.text.includes("INSERT")) throw Object.assign(new Error("boom"), { code: "22P05" });
      return { rows: [] };
    };
    await assert.rejects(new Client(pool).insert(job), /boom/);
    assert.deepEqual(pool.statements(), ["BEGIN", "INSERT", "ROLLBACK"]);
    assert.equal(pool.released, 1);
  });
  test("insertTx runs on the caller's connection without BEGIN or COMMIT", async () => {
    const pool = new FakePool();
    const conn = await pool.connect();
    await new Client(pool).insertTx(conn, job);
    assert.deepEqual(pool.statements(), ["INSERT", "NOTIFY"]);
  });
});

describe("option precedence", () => {
  class SendEmail {
    static kind = "send_email";
    static insertOpts: InsertOpts = { queue: "email", priority: 3, tags: ["mail"] };
    constructor(readonly to: string) {}
  }
  test("insert options, then the kind's, then the client's", async () => {
    const pool = new FakePool();
    const client = new Client(pool, { maxAttempts: 7 });
    const [a, b] = await client.insertMany([
      new SendEmail("a@x"),
      { args: new SendEmail("b@x"), opts: { priority: 1, tags: [] } },
    ]);
    assert.deepEqual(
      [a!.job.kind, a!.job.queue, a!.job.priority, a!.job.maxAttempts, a!.job.tags],
      ["send_email", "email", 3, 7, ["mail"]],
    );
    assert.deepEqual([b!.job.queue, b!.job.priority, b!.job.tags], ["email", 1, []]);
    assert.deepEqual(a!.job.args, { to: "a@x" });
  });
});
