// Inserts against PostgreSQL (test.sh starts it): rows, transactions, notifications,
// duplicates and option precedence, read back from the database itself.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, DEFAULT_UNIQUE_STATES, InsertOpts } from "@riverboat/client";

import { TestDatabase } from "./db";

const job = { kind: "k", args: { n: 1 } };

let db: TestDatabase;
before(async () => {
  db = await TestDatabase.create();
});
after(async () => {
  await db.end();
});

async function clean(): Promise<void> {
  await db.pool.query("TRUNCATE river_job, my_schema.river_job");
}

describe("rows", () => {
  test("kind length counts characters, not UTF-16 units", async () => {
    await clean();
    const pool = db.recordingPool();
    const { job: inserted } = await new Client(pool).insert({ kind: "😀".repeat(127), args: {} });
    assert.equal(pool.connects, 1);
    const [row] = await db.rows("SELECT kind FROM river_job WHERE id = $1", [inserted.id]);
    assert.equal(row!.kind, "😀".repeat(127));
  });

  test("a custom schema gets the row and the notification", async () => {
    await clean();
    const listener = await db.listen("my_schema");
    const { job: inserted } = await new Client(db.pool, { schema: "my_schema" }).insert(job);
    assert.deepEqual(await db.rows("SELECT id FROM my_schema.river_job"), [{ id: String(inserted.id) }]);
    assert.deepEqual(await db.rows("SELECT id FROM public.river_job"), []);
    assert.deepEqual(await listener.drain(db.pool), ["default"]);
  });

  test("an empty byArgs list alone makes no job unique", async () => {
    await clean();
    const { job: inserted } = await new Client(db.pool).insert(job, { uniqueOpts: { byArgs: [] } });
    const [row] = await db.rows("SELECT unique_key, unique_states FROM river_job WHERE id = $1", [inserted.id]);
    assert.deepEqual(row, { unique_key: null, unique_states: null });
    assert.equal(inserted.uniqueKey, null);
  });
});

describe("batches", () => {
  test("own transaction: BEGIN, one INSERT, one notification, COMMIT", async () => {
    await clean();
    // Ids past 2^53 come back exact.
    await db.pool.query("ALTER SEQUENCE river_job_id_seq RESTART WITH 9007199254740993");
    const listener = await db.listen();
    const pool = db.recordingPool();
    const results = await new Client(pool).insertMany([
      { kind: "k", args: { n: 1 }, insertOpts: { queue: "alpha" } },
      { args: { kind: "k", args: { n: 2 } }, opts: { queue: "alpha" } },
      { args: { kind: "k", args: { n: 3 } }, opts: { queue: "beta", scheduledAt: "2030-01-01T00:00:00+02:00" } },
      { args: { kind: "k", args: { n: 4 } }, opts: { queue: "gamma", pending: true } },
    ]);
    assert.deepEqual(pool.statements, ["BEGIN", "INSERT", "NOTIFY", "COMMIT"]);
    assert.equal(pool.released, 1);
    // Only queues that received available jobs are notified, each once.
    assert.deepEqual(await listener.drain(db.pool), ["alpha"]);
    assert.deepEqual(
      results.map((r) => [r.job.queue, r.job.state]),
      [
        ["alpha", "available"],
        ["alpha", "available"],
        ["beta", "scheduled"],
        ["gamma", "pending"],
      ],
    );
    assert.equal(results[0]!.job.id, 9007199254740993n);
    const rows = await db.rows(
      "SELECT id::text, queue, state::text, scheduled_at = '2029-12-31T22:00:00Z' AS at_given_time FROM river_job ORDER BY id",
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.queue, r.state, r.at_given_time]),
      results.map((r) => [String(r.job.id), r.job.queue, r.job.state, r.job.queue === "beta"]),
    );
  });

  test("results are placed by their ord, whatever order the rows come back in", async () => {
    await clean();
    // PostgreSQL does not promise RETURNING order: a pool that hands the insert's rows back reversed.
    const reversing = {
      connect: async () => {
        const conn = await db.pool.connect();
        return {
          query: async (config: { text: string; values?: unknown[] }) => {
            const result = await conn.query(config);
            return config.text.includes("INSERT INTO") ? { rows: [...result.rows].reverse() } : result;
          },
          release: (err?: Error | boolean) => conn.release(err),
        };
      },
    };
    const results = await new Client(reversing).insertMany([1, 2, 3].map((n) => ({ kind: "k", args: { n } })));
    assert.deepEqual(
      results.map((r) => r.job.args),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
  });

  test("repeated unique keys are sent once and reported as duplicates, in input order", async () => {
    await clean();
    const unique = { uniqueOpts: { byArgs: true } };
    const results = await new Client(db.pool).insertMany([
      { args: { kind: "k", args: { id: 1 } }, opts: unique },
      { args: { kind: "k", args: { id: 2 } }, opts: unique },
      { args: { kind: "k", args: { id: 1 } }, opts: unique },
    ]);
    assert.deepEqual(
      results.map((r) => [r.job.args.id, r.uniqueSkippedAsDuplicate]),
      [
        [1, false],
        [2, false],
        [1, true],
      ],
    );
    assert.equal(results[2]!.job.id, results[0]!.job.id);
    assert.deepEqual(await db.rows("SELECT args->>'id' AS id FROM river_job ORDER BY id"), [{ id: "1" }, { id: "2" }]);
    assert.deepEqual(results[0]!.job.uniqueStates, DEFAULT_UNIQUE_STATES);
    assert.deepEqual(await db.rows("SELECT unique_states::integer AS mask FROM river_job"), [
      { mask: 245 },
      { mask: 245 },
    ]);
  });

  test("a statement the database refuses rolls back and releases the connection", async () => {
    await clean();
    // Valid input the database refuses: a trigger turns every insert away.
    await db.pool.query(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
    );
    await db.pool.query("CREATE TRIGGER refuse BEFORE INSERT ON river_job EXECUTE FUNCTION refuse()");
    try {
      const pool = db.recordingPool();
      await assert.rejects(new Client(pool).insert(job), { code: "P0001", message: "refused" });
      assert.deepEqual(pool.statements, ["BEGIN", "INSERT", "ROLLBACK"]);
      assert.equal(pool.released, 1);
      assert.deepEqual(await db.rows("SELECT id FROM river_job"), []);
    } finally {
      await db.pool.query("DROP TRIGGER refuse ON river_job");
      await db.pool.query("DROP FUNCTION refuse()");
    }
  });

  test("insertTx runs in the caller's transaction: rows and notification appear on commit only", async () => {
    await clean();
    const listener = await db.listen();
    const pool = db.recordingPool();
    const client = new Client(pool);
    const conn = await db.pool.connect();
    try {
      await conn.query("BEGIN");
      await client.insertTx(pool.recording(conn), { kind: "k", args: { n: "rolled back" } });
      await conn.query("ROLLBACK");
      await conn.query("BEGIN");
      const { job: inserted } = await client.insertTx(pool.recording(conn), job);
      assert.deepEqual(await db.rows("SELECT id FROM river_job"), []);
      assert.deepEqual(await listener.drain(db.pool), []);
      await conn.query("COMMIT");
      assert.deepEqual(await db.rows("SELECT id FROM river_job"), [{ id: String(inserted.id) }]);
      assert.deepEqual(await listener.drain(db.pool), ["default"]);
    } finally {
      conn.release();
    }
    assert.deepEqual(pool.statements, ["INSERT", "NOTIFY", "INSERT", "NOTIFY"]);
    assert.equal(pool.connects, 0);
  });
});

describe("option precedence", () => {
  class SendEmail {
    static kind = "send_email";
    static insertOpts: InsertOpts = { queue: "email", priority: 3, tags: ["mail"] };
    constructor(readonly to: string) {}
  }
  test("insert options, then the kind's, then the client's", async () => {
    await clean();
    const client = new Client(db.pool, { maxAttempts: 7 });
    await client.insertMany([new SendEmail("a@x"), { args: new SendEmail("b@x"), opts: { priority: 1, tags: [] } }]);
    const rows = await db.rows("SELECT kind, queue, priority, max_attempts, tags, args FROM river_job ORDER BY id");
    assert.deepEqual(rows, [
      { kind: "send_email", queue: "email", priority: 3, max_attempts: 7, tags: ["mail"], args: { to: "a@x" } },
      { kind: "send_email", queue: "email", priority: 1, max_attempts: 7, tags: [], args: { to: "b@x" } },
    ]);
  });
});
