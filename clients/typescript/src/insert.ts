/**
 * Turning job args plus options into the column values of `river_job` rows
 * (spec/03-insert.md). Pure: the clock is a parameter and nothing here touches the
 * database.
 */

import { Contract } from "./contract";
import { UnknownKindError, ValidationError } from "./errors";
import { compactGo, encodeGo, RawJson, rejectNul } from "./gojson";
import {
  CheckedOpts,
  checkInsertOpts,
  checkKind,
  checkMaxAttempts,
  checkPriority,
  checkQueue,
  InsertOpts,
  MAX_ATTEMPTS_DEFAULT,
  PRIORITY_DEFAULT,
  QUEUE_DEFAULT,
} from "./options";
import { DEFAULT_UNIQUE_STATES, hashKey, isUnique, JobState, statesMask, uniqueKeyString } from "./unique";

/**
 * A job given as a plain object: its kind and its args (an object, or pre-encoded JSON
 * text as RawJson). `insertOpts` are the kind's defaults, below the options passed with
 * the insert.
 */
export interface KindArgs {
  kind: string;
  args: object;
  insertOpts?: InsertOpts;
}

/**
 * Job args: a {@link KindArgs} plain object, or an instance of a class with a static
 * `kind` (and optional static `insertOpts`) whose own properties are the args, encoded
 * in declaration order like a Go struct's fields.
 */
export type JobArgs = KindArgs | object;

/** One element of a batch: args with their own options. */
export interface InsertManyParams {
  args: JobArgs;
  opts?: InsertOpts;
}

/** The client-wide fallbacks, used when neither the insert nor the kind sets a value. */
export interface ClientDefaults {
  queue: string;
  priority: number;
  maxAttempts: number;
}

export function checkClientDefaults(opts: { queue?: string; priority?: number; maxAttempts?: number }): ClientDefaults {
  return {
    queue: opts.queue === undefined ? QUEUE_DEFAULT : checkQueue(opts.queue),
    priority: opts.priority === undefined ? PRIORITY_DEFAULT : checkPriority(opts.priority),
    maxAttempts: opts.maxAttempts === undefined ? MAX_ATTEMPTS_DEFAULT : checkMaxAttempts(opts.maxAttempts),
  };
}

/** The column values of one job, fully resolved (schema/json/insert-params.schema.json). */
export interface ResolvedJob {
  kind: string;
  args: string;
  queue: string;
  priority: number;
  maxAttempts: number;
  scheduledAt: bigint;
  state: JobState;
  tags: string[];
  metadata: string;
  uniqueKey: Buffer | null;
  uniqueStates: number | null;
}

const KIND_ARGS_MEMBERS = new Set(["kind", "args", "insertOpts"]);

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The kind, encoded args and kind defaults of job args; `plain` says they were given as
 * a {kind, args} object rather than as a class instance.
 */
export function describeArgs(job: unknown): { kind: string; encoded: string; kindOpts: unknown; plain: boolean } {
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    throw new ValidationError("args", "type", "must be {kind, args} or an instance of a class with a static kind", job);
  }
  let kind: unknown;
  let encoded: string;
  let kindOpts: unknown;
  if (isPlainObject(job)) {
    const given = job as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!KIND_ARGS_MEMBERS.has(key)) {
        throw new ValidationError(
          "args",
          "choice",
          `unexpected member ${JSON.stringify(key)}; give {kind, args, insertOpts?}`,
        );
      }
    }
    kind = given.kind;
    const args = given.args;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw new ValidationError("args", "type", "must be a JSON object", args);
    }
    encoded = args instanceof RawJson ? compactGo(args.text, "args") : encodeGo(args, "args");
    kindOpts = given.insertOpts;
  } else {
    const ctor = (job as { constructor?: { kind?: unknown; insertOpts?: unknown } }).constructor;
    kind = ctor?.kind;
    if (typeof kind !== "string") {
      throw new ValidationError("kind", "required", "args class must have a static string `kind`", job);
    }
    encoded = encodeGo(job, "args");
    kindOpts = ctor?.insertOpts;
  }
  if (!encoded.startsWith("{")) {
    throw new ValidationError("args", "type", "must be a JSON object", encoded.slice(0, 40));
  }
  rejectNul(encoded, "args");
  return { kind: checkKind(kind), encoded, kindOpts, plain: isPlainObject(job) };
}

/** The args of a job exactly as they will be stored (and hashed): Go's encoding/json text. */
export function encodeArgs(args: JobArgs): string {
  return describeArgs(args).encoded;
}

/** The first value that is set, in precedence order. */
function first<T>(...values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined);
}

/**
 * Resolves one job: options passed with the insert, then the kind's defaults (the args'
 * `insertOpts`; for a {kind, args} object without them, the contract's entry for the
 * kind), then the client's. State: pending > scheduled (any explicit scheduledAt) >
 * available.
 */
export function resolveJob(
  params: InsertManyParams,
  defaults: ClientDefaults,
  contract: Contract | null,
  now: bigint,
  strictContract = false,
): ResolvedJob {
  const { kind, encoded, kindOpts: ownKindOpts, plain } = describeArgs(params.args);
  if (contract !== null && strictContract && !contract.has(kind)) throw new UnknownKindError(kind);
  contract?.check(kind, encoded);
  const given: CheckedOpts = checkInsertOpts(params.opts);
  const kindOpts: CheckedOpts = checkInsertOpts(ownKindOpts ?? (plain ? contract?.insertOpts(kind) : undefined));
  const queue = first(given.queue, kindOpts.queue) ?? defaults.queue;
  const scheduledAt = first(given.scheduledAt, kindOpts.scheduledAt);
  const pending = first(given.pending, kindOpts.pending) ?? false;
  const state: JobState = pending ? "pending" : scheduledAt !== undefined ? "scheduled" : "available";
  const unique = first(given.uniqueOpts, kindOpts.uniqueOpts);
  let uniqueKey: Buffer | null = null;
  let uniqueStates: number | null = null;
  if (unique !== undefined && isUnique(unique)) {
    uniqueKey = hashKey(uniqueKeyString(kind, encoded, queue, unique, scheduledAt ?? null, now));
    uniqueStates = statesMask(unique.byState ?? DEFAULT_UNIQUE_STATES);
  }
  return {
    kind,
    args: encoded,
    queue,
    priority: first(given.priority, kindOpts.priority) ?? defaults.priority,
    maxAttempts: first(given.maxAttempts, kindOpts.maxAttempts) ?? defaults.maxAttempts,
    scheduledAt: scheduledAt ?? now,
    state,
    tags: first(given.tags, kindOpts.tags) ?? [],
    metadata: first(given.metadata, kindOpts.metadata) ?? "{}",
    uniqueKey,
    uniqueStates,
  };
}

/**
 * A batch with repeated unique keys folded: `rows` go to the statement, `sources[i]` is
 * the statement row answering input i, `repeats[i]` says input i repeats a key seen
 * earlier in the batch (so it is reported as skipped).
 */
export interface Batch {
  rows: ResolvedJob[];
  sources: number[];
  repeats: boolean[];
}

/**
 * Postgres refuses an ON CONFLICT DO UPDATE statement that touches one row twice, so
 * each unique key is sent once; later jobs with the key get the first one's row.
 */
export function foldDuplicates(jobs: ResolvedJob[]): Batch {
  const batch: Batch = { rows: [], sources: [], repeats: [] };
  const seen = new Map<string, number>();
  for (const job of jobs) {
    const key = job.uniqueKey?.toString("hex");
    const earlier = key === undefined ? undefined : seen.get(key);
    if (earlier !== undefined) {
      batch.sources.push(earlier);
      batch.repeats.push(true);
      continue;
    }
    if (key !== undefined) seen.set(key, batch.rows.length);
    batch.sources.push(batch.rows.length);
    batch.repeats.push(false);
    batch.rows.push(job);
  }
  return batch;
}
