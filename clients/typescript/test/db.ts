// The real PostgreSQL the tests that touch a database use. test.sh starts a private
// cluster and names, in RIVERBOAT_TEST_DATABASE_URL, a database migrated to River's main
// line in `public` and in `my_schema`; each test works in a fresh copy of it.
import { Client as PgClient, Pool, PoolClient } from "pg";

import { PoolLike, Queryable } from "@riverboat/client";

const SENTINEL_QUEUE = "riverboat_ts_test_sentinel";
const NOTIFY_TIMEOUT_MS = 10_000;
let copies = 0;

function templateUrl(): URL {
  const url = process.env.RIVERBOAT_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      "RIVERBOAT_TEST_DATABASE_URL is not set: run clients/typescript/test.sh, which starts PostgreSQL for the tests",
    );
  }
  return new URL(url);
}

function withDatabase(url: URL, name: string): string {
  const copy = new URL(url.href);
  copy.pathname = `/${name}`;
  return copy.href;
}

/** A connection of a RecordingPool: the real one, with every statement noted before it is sent. */
function recorded(conn: Queryable, statements: string[]): Queryable {
  return {
    query: (config) => {
      const text = config.text;
      statements.push(text.includes("INSERT INTO") ? "INSERT" : text.includes("pg_notify") ? "NOTIFY" : text.trim());
      return conn.query(config);
    },
  };
}

/** A pool over the test database that notes what the client does with it. */
export class RecordingPool implements PoolLike {
  /** Statements sent, as BEGIN / INSERT / NOTIFY / COMMIT / ROLLBACK. */
  readonly statements: string[] = [];
  connects = 0;
  released = 0;

  constructor(private readonly pool: Pool) {}

  async connect() {
    this.connects++;
    const conn = await this.pool.connect();
    return {
      ...recorded(conn, this.statements),
      release: (err?: Error | boolean) => {
        this.released++;
        conn.release(err);
      },
    };
  }

  /** A caller's connection (for insertTx) whose statements are noted too. */
  recording(conn: PoolClient): Queryable {
    return recorded(conn, this.statements);
  }
}

/** The insert notifications delivered on one channel. */
export class Listener {
  private readonly queues: string[] = [];
  private waiting: (() => void) | null = null;

  constructor(
    conn: PgClient,
    private readonly channel: string,
  ) {
    conn.on("notification", (message) => {
      const queue = (JSON.parse(message.payload ?? "{}") as { queue?: string }).queue ?? "";
      if (queue === SENTINEL_QUEUE) this.waiting?.();
      else this.queues.push(queue);
    });
  }

  /**
   * The queues notified so far, in order. A sentinel is sent and awaited first:
   * PostgreSQL delivers in commit order, so everything committed before it has arrived.
   */
  async drain(pool: Pool): Promise<string[]> {
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sentinel on ${this.channel}`)), NOTIFY_TIMEOUT_MS);
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await pool.query("SELECT pg_notify($1, json_build_object('queue', $2::text)::text)", [
      this.channel,
      SENTINEL_QUEUE,
    ]);
    await arrived;
    return this.queues.splice(0);
  }
}

/** A fresh database for one test, with a pool and helpers; `end()` closes its connections. */
export class TestDatabase {
  readonly pool: Pool;
  private readonly listeners: PgClient[] = [];

  private constructor(readonly url: string) {
    this.pool = new Pool({ connectionString: url });
  }

  static async create(): Promise<TestDatabase> {
    const template = templateUrl();
    const name = `ts_${process.pid}_${++copies}`;
    const admin = new PgClient({ connectionString: withDatabase(template, "postgres") });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.pathname.slice(1)}"`);
    } finally {
      await admin.end();
    }
    return new TestDatabase(withDatabase(template, name));
  }

  recordingPool(): RecordingPool {
    return new RecordingPool(this.pool);
  }

  async rows(sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.pool.query(sql, values)).rows as Record<string, unknown>[];
  }

  /** Starts listening for insert notifications of `schema` (default: public). */
  async listen(schema = "public"): Promise<Listener> {
    const conn = new PgClient({ connectionString: this.url });
    await conn.connect();
    this.listeners.push(conn);
    const channel = `${schema}.river_insert`;
    await conn.query(`LISTEN "${channel}"`);
    return new Listener(conn, channel);
  }

  async end(): Promise<void> {
    await Promise.all(this.listeners.map((conn) => conn.end()));
    await this.pool.end();
  }
}
