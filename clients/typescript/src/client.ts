/**
 * The insert-only client (spec/03-insert.md, spec/14-writing-a-client.md). It holds a
 * pool only to open its own transactions; `insertTx` / `insertManyTx` run on the
 * caller's connection inside the caller's transaction.
 */

import { Contract } from "./contract";
import { ValidationError } from "./errors";
import {
  Batch,
  checkClientDefaults,
  ClientDefaults,
  foldDuplicates,
  InsertManyParams,
  JobArgs,
  resolveJob,
} from "./insert";
import { InsertResult, jobFromRow, JobRow, placeByOrdinal } from "./job";
import { InsertOpts } from "./options";
import { checkSchema, loadQuery, Query, queryValues } from "./queries";
import { formatMicros, nowInstant } from "./time";

/**
 * What the client needs of a connection: node-postgres' `PoolClient` or `Client` (or
 * anything with the same `query`).
 */
export interface Queryable {
  query(config: {
    text: string;
    values?: unknown[];
    types?: { getTypeParser: (...args: never[]) => unknown };
  }): Promise<{ rows: unknown[] }>;
}

/** What the client needs of a pool: node-postgres' `Pool`. */
export interface PoolLike {
  connect(): Promise<Queryable & { release(err?: Error | boolean): void }>;
}

export interface ClientConfig {
  /** Schema holding River's tables; unset uses the connection's search path. */
  schema?: string | null;
  /**
   * A job-args contract (a Contract, or its JSON document): args of the kinds it lists are
   * checked against it before anything is sent (other kinds pass unchecked), and jobs given as
   * `{kind, args}` without their own `insertOpts` take the kind's defaults from it.
   */
  contract?: Contract | Record<string, unknown> | string | null;
  /** Also refuse kinds the contract does not list (UnknownKindError; spec/05-args-contract.md#strict-mode). */
  strictContract?: boolean;
  /** Client-wide defaults, below per-insert options and kind defaults. */
  queue?: string;
  priority?: number;
  maxAttempts?: number;
}

// Every column comes back as text and is decoded by jobFromRow, so that int8 ids, big
// integers in JSON and microsecond times survive.
const TEXT_RESULTS = { getTypeParser: () => (value: string) => value };

const BATCH_MEMBERS = new Set(["args", "opts"]);

/** A batch element: InsertManyParams, or bare job args. */
function batchItem(item: unknown, index: number): InsertManyParams {
  if (typeof item === "object" && item !== null && !Array.isArray(item)) {
    const proto = Object.getPrototypeOf(item) as unknown;
    const plain = proto === Object.prototype || proto === null;
    if (plain && !("kind" in item)) {
      for (const key of Object.keys(item)) {
        if (!BATCH_MEMBERS.has(key)) {
          throw new ValidationError(
            "args",
            "choice",
            `batch element ${index} has member ${JSON.stringify(key)}; give {args, opts?} or job args`,
          );
        }
      }
      return item as InsertManyParams;
    }
  }
  return { args: item as JobArgs };
}

export class Client {
  private readonly pool: PoolLike;
  private readonly schema: string | null;
  private readonly contract: Contract | null;
  private readonly strictContract: boolean;
  private readonly defaults: ClientDefaults;
  private readonly insertQuery: Query;
  private readonly notifyQuery: Query;

  /**
   * Constructing a client opens no connection. The pool stays the caller's: the client
   * never ends it.
   */
  constructor(pool: PoolLike, config: ClientConfig = {}) {
    this.pool = pool;
    this.schema = config.schema === undefined || config.schema === null ? null : checkSchema(config.schema);
    const contract = config.contract ?? null;
    this.contract = contract === null || contract instanceof Contract ? contract : Contract.fromJson(contract);
    this.strictContract = config.strictContract ?? false;
    this.defaults = checkClientDefaults(config);
    this.insertQuery = loadQuery("job_insert_many", this.schema);
    this.notifyQuery = loadQuery("queue_notify_insert", this.schema);
  }

  /** Inserts one job in a transaction of its own. */
  async insert(args: JobArgs, opts?: InsertOpts): Promise<InsertResult> {
    const [result] = await this.insertMany([{ args, opts }]);
    return result!;
  }

  /** Inserts one job in the caller's open transaction; it (and its notification) appears on commit. */
  async insertTx(conn: Queryable, args: JobArgs, opts?: InsertOpts): Promise<InsertResult> {
    const [result] = await this.insertManyTx(conn, [{ args, opts }]);
    return result!;
  }

  /**
   * Inserts a batch atomically, in one statement, in a transaction of its own. Results
   * are in input order; a job whose unique key repeats an earlier one of the batch gets
   * that job's row with `uniqueSkippedAsDuplicate` set.
   */
  async insertMany(params: readonly (InsertManyParams | JobArgs)[]): Promise<InsertResult[]> {
    const batch = this.prepare(params);
    const conn = await this.pool.connect();
    let releaseError: Error | undefined;
    try {
      await conn.query({ text: "BEGIN" });
      const results = await this.write(conn, batch);
      await conn.query({ text: "COMMIT" });
      return results;
    } catch (err) {
      try {
        await conn.query({ text: "ROLLBACK" });
      } catch (rollbackError) {
        // A connection that cannot roll back must not go back to the pool.
        releaseError = rollbackError as Error;
      }
      throw err;
    } finally {
      conn.release(releaseError);
    }
  }

  /** Inserts a batch in the caller's open transaction; results in input order. */
  async insertManyTx(conn: Queryable, params: readonly (InsertManyParams | JobArgs)[]): Promise<InsertResult[]> {
    const batch = this.prepare(params);
    return this.write(conn, batch);
  }

  /** Validates and resolves every job before any SQL; one bad job rejects the batch. */
  private prepare(params: readonly (InsertManyParams | JobArgs)[]): Batch & { now: bigint } {
    if (!Array.isArray(params)) throw new ValidationError("params", "type", "must be a list of jobs", params);
    // River Go's InsertMany refuses an empty batch ("no jobs to insert").
    if (params.length === 0)
      throw new ValidationError("params", "length", "no jobs to insert: a batch needs at least one job");
    const now = nowInstant();
    const jobs = params.map((item, i) =>
      resolveJob(batchItem(item, i), this.defaults, this.contract, now, this.strictContract),
    );
    return { ...foldDuplicates(jobs), now };
  }

  private async write(conn: Queryable, batch: Batch & { now: bigint }): Promise<InsertResult[]> {
    const rows = batch.rows;
    const { rows: returned } = await conn.query({
      text: this.insertQuery.text,
      values: queryValues(this.insertQuery, {
        created_at: formatMicros(batch.now),
        args: rows.map((r) => r.args),
        kind: rows.map((r) => r.kind),
        max_attempts: rows.map((r) => r.maxAttempts),
        metadata: rows.map((r) => r.metadata),
        priority: rows.map((r) => r.priority),
        queue: rows.map((r) => r.queue),
        scheduled_at: rows.map((r) => formatMicros(r.scheduledAt)),
        state: rows.map((r) => r.state),
        // Tags may not contain commas, so the statement can split them back.
        tags: rows.map((r) => r.tags.join(",")),
        unique_key: rows.map((r) => r.uniqueKey?.toString("hex") ?? ""),
        unique_states: rows.map((r) => r.uniqueStates ?? 0),
      }),
      types: TEXT_RESULTS,
    });
    const stored = placeByOrdinal(returned as JobRow[], rows.length).map(jobFromRow);
    // Only newly inserted available jobs wake workers; each queue once.
    const queues = [
      ...new Set(
        stored.filter((r) => r.job.state === "available" && !r.uniqueSkippedAsDuplicate).map((r) => r.job.queue),
      ),
    ];
    if (queues.length > 0) {
      await conn.query({
        text: this.notifyQuery.text,
        values: queryValues(this.notifyQuery, { schema: this.schema, queues }),
      });
    }
    return batch.sources.map((source, i) => {
      const result = stored[source]!;
      return batch.repeats[i] ? { job: result.job, uniqueSkippedAsDuplicate: true } : result;
    });
  }
}
