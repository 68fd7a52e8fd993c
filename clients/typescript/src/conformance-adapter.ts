/**
 * Conformance adapter (conformance/ADAPTER.md, profile insert-only-v1 plus
 * contract_load): JSON-RPC 2.0 over stdio, one request per line, driving this package's
 * public API. Run it with
 *
 *     conformance/run -- node clients/typescript/dist/conformance-adapter.js
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { Pool, PoolClient } from "pg";

import {
  ArgsContractError,
  Client,
  Contract,
  encodeArgs,
  encodeGo,
  InsertManyParams,
  InsertOpts,
  InsertResult,
  Job,
  KindContract,
  parseJson,
  RawJson,
  uniqueKey,
  uniqueStatesMask,
  UniqueOpts,
  UnknownKindError,
  ValidationError,
} from "./index";

const VERSION = (JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { version: string })
  .version;

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

function badParams(message: string, field = "params", rule = "type"): RpcFailure {
  return new RpcFailure(-32602, message, { field, rule });
}

type Params = Record<string, unknown>;

/** Where each parsed object came from in the request line, so args reach the client as sent. */
let spans = new WeakMap<object, [number, number]>();
let line = "";

/** The exact text of a value of the request, as RawJson (the client compacts it as Go does). */
function rawOf(value: unknown): RawJson {
  if (typeof value === "object" && value !== null) {
    const span = spans.get(value);
    if (span !== undefined) return new RawJson(line.slice(span[0], span[1]));
  }
  // A scalar has no span; its encoding is exact anyway, and the client will reject it.
  return new RawJson(encodeGo(value, "args"));
}

function asObject(value: unknown, what: string): Params {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badParams(`${what} must be an object`);
  return value as Params;
}

function checkKnown(obj: Params, allowed: string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw badParams(`unknown member ${JSON.stringify(key)} in ${what}`, "params", "choice");
  }
}

/** null means absent throughout the protocol. */
function given<T>(value: unknown): T | undefined {
  return value === null || value === undefined ? undefined : (value as T);
}

/** by_period_seconds as the client's byPeriod, in milliseconds. */
function periodMs(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "number" && typeof value !== "bigint")
    throw badParams("by_period_seconds must be a number", "unique_opts.by_period", "type");
  return Number(value) * 1000;
}

function uniqueFromParams(u: Params): UniqueOpts {
  return {
    byArgs: given<boolean | string[]>(u.by_args),
    byPeriod: periodMs(u.by_period_seconds),
    byQueue: given<boolean>(u.by_queue),
    byState: given(u.by_state),
    excludeKind: given<boolean>(u.exclude_kind),
  };
}

const JOB_MEMBERS = ["kind", "args", "args_json", "opts"];

function jobParams(value: unknown, members = JOB_MEMBERS): InsertManyParams {
  const p = asObject(value, "job");
  checkKnown(p, members, "insert params");
  const argsJson = given(p.args_json);
  const argsValue = given(p.args);
  if (argsValue !== undefined && argsJson !== undefined) {
    throw badParams("give args or args_json, not both", "args", "conflict");
  }
  let args: RawJson;
  if (argsJson !== undefined) {
    if (typeof argsJson !== "string") throw badParams("args_json must be a string", "args", "type");
    args = new RawJson(argsJson);
  } else if (argsValue !== undefined) {
    args = rawOf(argsValue);
  } else {
    throw badParams("args are required", "args", "required");
  }
  let opts: InsertOpts | undefined;
  if (p.opts !== undefined && p.opts !== null) {
    const o = asObject(p.opts, "opts");
    checkKnown(
      o,
      ["queue", "priority", "max_attempts", "scheduled_at", "pending", "tags", "metadata", "unique_opts"],
      "opts",
    );
    let uniqueOpts: UniqueOpts | undefined;
    if (given(o.unique_opts) !== undefined) {
      const u = asObject(o.unique_opts, "unique_opts");
      checkKnown(u, ["by_args", "by_period_seconds", "by_queue", "by_state", "exclude_kind"], "unique_opts");
      uniqueOpts = uniqueFromParams(u);
    }
    opts = {
      queue: given(o.queue),
      priority: given(o.priority),
      maxAttempts: given(o.max_attempts),
      scheduledAt: given(o.scheduled_at),
      pending: given(o.pending),
      tags: given(o.tags),
      metadata: o.metadata === undefined || o.metadata === null ? undefined : rawOf(o.metadata),
      uniqueOpts,
    };
  }
  // The client takes the kind as given; a non-string kind is its validation error to raise.
  return { args: { kind: p.kind as string, args }, opts };
}

/**
 * The protocol's field name for the client's (ADAPTER.md#errors): the option in snake
 * case, `uniqueOpts.byPeriod` as `unique_opts.by_period`, not a path inside a value.
 */
function protocolField(field: string): string {
  const [top, next] = field.split(/[.[]/);
  const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return top === "uniqueOpts" && next !== undefined ? `unique_opts.${snake(next)}` : snake(top!);
}

function toFailure(err: unknown): RpcFailure {
  if (err instanceof RpcFailure) return err;
  if (err instanceof ArgsContractError) {
    return new RpcFailure(-32002, err.message, {
      reason: "contract_violation",
      pointer: err.pointer,
      rule: err.keyword,
    });
  }
  if (err instanceof UnknownKindError) return new RpcFailure(-32002, err.message, { reason: "unknown_kind" });
  if (err instanceof ValidationError) {
    return new RpcFailure(-32602, err.message, { field: protocolField(err.field), rule: err.rule });
  }
  const sqlstate = (err as { code?: unknown }).code;
  if (typeof sqlstate === "string" && /^[0-9A-Z]{5}$/.test(sqlstate)) {
    return new RpcFailure(-32003, (err as Error).message, { sqlstate });
  }
  return new RpcFailure(-32000, err instanceof Error ? (err.stack ?? err.message) : String(err));
}

/** A time as the protocol writes it (ADAPTER.md#values): the client's microsecond text, trailing fraction zeros trimmed. */
function protocolTime(time: string): string;
function protocolTime(time: string | null): string | null;
function protocolTime(time: string | null): string | null {
  return time === null ? null : time.replace(/(\.\d*?)0*Z$/, "$1Z").replace(/\.Z$/, "Z");
}

function jobJson(job: Job): Params {
  return {
    id: job.id,
    args: job.args,
    attempt: job.attempt,
    attempted_at: protocolTime(job.attemptedAt),
    attempted_by: job.attemptedBy,
    created_at: protocolTime(job.createdAt),
    errors: job.errors,
    finalized_at: protocolTime(job.finalizedAt),
    kind: job.kind,
    max_attempts: job.maxAttempts,
    metadata: job.metadata,
    priority: job.priority,
    queue: job.queue,
    scheduled_at: protocolTime(job.scheduledAt),
    state: job.state,
    tags: job.tags,
    unique_key: job.uniqueKey === null ? null : job.uniqueKey.toString("hex"),
    unique_states: job.uniqueStates,
  };
}

function resultJson(result: InsertResult): Params {
  return { job: jobJson(result.job), unique_skipped_as_duplicate: result.uniqueSkippedAsDuplicate };
}

const METHODS = [
  "handshake",
  "insert",
  "insert_many",
  "tx_begin",
  "tx_commit",
  "tx_insert",
  "tx_insert_many",
  "tx_rollback",
  "unique_key",
  "contract_load",
];

class Adapter {
  private readonly pool: Pool;
  private readonly schema: string | null;
  private readonly client: Client;
  private contractKinds = new Map<string, KindContract>();
  private contractClient: Client | null = null;
  private readonly txs = new Map<string, PoolClient>();

  constructor() {
    const url = process.env.RIVER_CONFORMANCE_DATABASE_URL;
    if (!url) throw new Error("RIVER_CONFORMANCE_DATABASE_URL is required");
    const applicationName = process.env.RIVER_CONFORMANCE_APPLICATION_NAME || undefined;
    this.pool = new Pool({ connectionString: url, application_name: applicationName, max: 4 });
    this.schema = process.env.RIVER_CONFORMANCE_SCHEMA || null;
    this.client = new Client(this.pool, { schema: this.schema });
  }

  /** A client with a contract refuses kinds outside it, so it takes only batches of contracted kinds. */
  private clientFor(jobs: InsertManyParams[]): Client {
    const kinds = jobs.map((j) => (j.args as { kind: unknown }).kind);
    if (this.contractClient !== null && kinds.every((k) => typeof k === "string" && this.contractKinds.has(k))) {
      return this.contractClient;
    }
    return this.client;
  }

  private tx(handle: unknown): PoolClient {
    const conn = typeof handle === "string" ? this.txs.get(handle) : undefined;
    if (conn === undefined) throw new RpcFailure(-32001, `unknown transaction handle ${JSON.stringify(handle)}`);
    return conn;
  }

  private jobsOf(value: unknown): InsertManyParams[] {
    if (!Array.isArray(value)) throw badParams("jobs must be a list");
    return value.map((job) => jobParams(job));
  }

  async handle(method: string, params: Params): Promise<unknown> {
    switch (method) {
      case "handshake":
        return {
          adapter_version: 1,
          backend: "postgres",
          capabilities: [
            "insert",
            "lifecycle",
            "transactions",
            "unique_jobs",
            "unique_key",
            "unique_by_args_paths",
            "validation",
            "kind_validation",
            "reserved_metadata",
            "args_contract",
          ],
          implementation: "riverboat-typescript",
          implementation_version: VERSION,
          methods: METHODS,
          migration_lines: { main: 8 },
          profile: "insert-only-v1",
          protocol_revision: 1,
        };
      case "insert": {
        const jobs = [jobParams(params)];
        return resultJson(await this.clientFor(jobs).insert(jobs[0]!.args, jobs[0]!.opts));
      }
      case "insert_many": {
        checkKnown(params, ["jobs"], "insert_many params");
        const jobs = this.jobsOf(params.jobs);
        return { results: (await this.clientFor(jobs).insertMany(jobs)).map(resultJson) };
      }
      case "tx_begin": {
        checkKnown(params, ["handle"], "tx_begin params");
        const handle = params.handle;
        if (typeof handle !== "string" || handle === "" || this.txs.has(handle)) {
          throw badParams(`handle ${JSON.stringify(handle)} is empty or in use`, "handle", "duplicate");
        }
        const conn = await this.pool.connect();
        try {
          await conn.query("BEGIN");
        } catch (err) {
          conn.release(true);
          throw err;
        }
        this.txs.set(handle, conn);
        return {};
      }
      case "tx_insert": {
        checkKnown(params, ["handle", "job"], "tx_insert params");
        const conn = this.tx(params.handle);
        const jobs = [jobParams(params.job)];
        return resultJson(await this.clientFor(jobs).insertTx(conn, jobs[0]!.args, jobs[0]!.opts));
      }
      case "tx_insert_many": {
        checkKnown(params, ["handle", "jobs"], "tx_insert_many params");
        const conn = this.tx(params.handle);
        const jobs = this.jobsOf(params.jobs);
        return { results: (await this.clientFor(jobs).insertManyTx(conn, jobs)).map(resultJson) };
      }
      case "tx_commit":
      case "tx_rollback": {
        checkKnown(params, ["handle"], `${method} params`);
        const conn = this.tx(params.handle);
        this.txs.delete(params.handle as string);
        try {
          await conn.query(method === "tx_commit" ? "COMMIT" : "ROLLBACK");
          conn.release();
        } catch (err) {
          conn.release(true);
          throw err;
        }
        return {};
      }
      case "unique_key":
        return this.uniqueKey(params);
      case "contract_load": {
        checkKnown(params, ["kind", "contract"], "contract_load params");
        if (typeof params.kind !== "string") throw badParams("kind must be a string", "kind", "type");
        const kinds = new Map(this.contractKinds);
        kinds.set(params.kind, { argsSchema: params.contract as Record<string, unknown> });
        let contract: Contract;
        try {
          contract = Contract.fromKinds(kinds);
        } catch (err) {
          if (err instanceof ValidationError) throw badParams(err.message, "contract", err.rule);
          throw err;
        }
        this.contractKinds = kinds;
        this.contractClient = new Client(this.pool, { schema: this.schema, contract });
        return {};
      }
      default:
        throw new RpcFailure(-32601, `method not found: ${method}`);
    }
  }

  /** The key an insert of these params would store at the clock `now`; null for a job that is not unique. */
  private uniqueKey(params: Params): Params {
    const job = jobParams(params, [...JOB_MEMBERS, "now"]);
    const { kind, args } = job.args as { kind: string; args: RawJson };
    const uniqueOpts = job.opts?.uniqueOpts;
    if (uniqueOpts === undefined) return { sha256: null, state_mask: null };
    const key = uniqueKey({
      kind,
      encodedArgs: encodeArgs({ kind, args }),
      queue: job.opts?.queue ?? "default",
      uniqueOpts,
      scheduledAt: job.opts?.scheduledAt,
      now: params.now as string,
    });
    return key === null
      ? { sha256: null, state_mask: null }
      : { sha256: key.toString("hex"), state_mask: uniqueStatesMask(uniqueOpts) };
  }

  async close(): Promise<void> {
    for (const conn of this.txs.values()) conn.release(true);
    this.txs.clear();
    await this.pool.end();
  }
}

function respond(id: unknown, body: { result: unknown } | { error: Params }): void {
  process.stdout.write(encodeGo({ jsonrpc: "2.0", id, ...body }, "response") + "\n");
}

async function serve(): Promise<void> {
  const adapter = new Adapter();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.trim() === "") continue;
    line = text;
    spans = new WeakMap();
    let id: unknown = null;
    try {
      let request: unknown;
      try {
        request = parseJson(text, spans);
      } catch (err) {
        throw new RpcFailure(-32700, `parse error: ${(err as Error).message}`);
      }
      const r = request as Params;
      if (typeof request !== "object" || request === null || Array.isArray(request)) {
        throw new RpcFailure(-32600, "not a JSON-RPC 2.0 request");
      }
      id = r.id ?? null;
      if (r.jsonrpc !== "2.0" || typeof r.method !== "string")
        throw new RpcFailure(-32600, "not a JSON-RPC 2.0 request");
      const params = r.params === undefined || r.params === null ? {} : asObject(r.params, "params");
      respond(id, { result: await adapter.handle(r.method, params) });
    } catch (err) {
      const failure = toFailure(err);
      if (failure.code === -32000) process.stderr.write(`${failure.message}\n`);
      const error: Params = { code: failure.code, message: failure.message };
      if (failure.data !== undefined) error.data = failure.data;
      respond(id, { error });
    }
  }
  await adapter.close();
}

serve().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
