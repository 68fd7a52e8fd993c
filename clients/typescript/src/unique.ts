/**
 * Unique keys and unique-state masks exactly as River Go computes them
 * (spec/04-unique.md). Everything here is a pure function: no database, no clock.
 */

import { createHash } from "node:crypto";

import { ValidationError } from "./errors";
import { encodeGoString, Member, objectMembers, skipWhitespace, valueEnd } from "./gojson";
import { formatSeconds, NANOS_PER_MILLI, TimeInput, toInstant } from "./time";

/** A job's state: the labels of the `river_job_state` Postgres enum. */
export type JobState =
  "available" | "cancelled" | "completed" | "discarded" | "pending" | "retryable" | "running" | "scheduled";

/** Every state in bit order: bit i of a unique-states mask is JOB_STATES[i] (River's numbering). */
export const JOB_STATES: readonly JobState[] = [
  "available",
  "cancelled",
  "completed",
  "discarded",
  "pending",
  "retryable",
  "running",
  "scheduled",
];

/** River's default: every state but cancelled and discarded. */
export const DEFAULT_UNIQUE_STATES: readonly JobState[] = [
  "available",
  "completed",
  "pending",
  "retryable",
  "running",
  "scheduled",
];

// Leaving one of these out would let a live job be duplicated, so River requires them.
const REQUIRED_UNIQUE_STATES: readonly JobState[] = ["available", "pending", "running", "scheduled"];

/** What makes a job unique; the meanings are River Go's `UniqueOpts`. */
export interface UniqueOpts {
  /**
   * `true`: all args take part in the key. A list of dotted paths (`"account.id"`):
   * only those args, as River Go's `river:"unique"` struct tags; `\` makes the next
   * character of a path literal (`"a\\.b"` is the one key `a.b`).
   */
  byArgs?: boolean | readonly string[];
  /** Period in milliseconds (at least 1000): one job per period, counted from Go's zero time. */
  byPeriod?: number;
  /** The queue takes part in the key. */
  byQueue?: boolean;
  /** States in which an existing job blocks a duplicate; must include available, pending, running, scheduled. */
  byState?: readonly JobState[];
  /** Leave the kind out of the key, so jobs of different kinds dedupe (needs byArgs, byPeriod or byQueue). */
  excludeKind?: boolean;
}

const UNIQUE_OPTION_NAMES = new Set(["byArgs", "byPeriod", "byQueue", "byState", "excludeKind"]);

/** UniqueOpts checked and normalized: period in nanoseconds, paths split into components. */
export interface CheckedUniqueOpts {
  byArgs: false | true | string[][];
  periodNanos: bigint | null;
  byQueue: boolean;
  byState: JobState[] | null;
  excludeKind: boolean;
}

function optionalBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw new ValidationError(field, "type", "must be a boolean", value);
  return value;
}

/** Checks unique options against River's rules (spec/04-unique.md#options). */
export function checkUniqueOpts(opts: unknown, field = "uniqueOpts"): CheckedUniqueOpts {
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new ValidationError(field, "type", "must be an object", opts);
  }
  for (const key of Object.keys(opts)) {
    if (!UNIQUE_OPTION_NAMES.has(key)) throw new ValidationError(`${field}.${key}`, "choice", "is not a unique option");
  }
  const o = opts as Record<string, unknown>;

  let byArgs: CheckedUniqueOpts["byArgs"] = false;
  if (Array.isArray(o.byArgs)) {
    const paths = o.byArgs.map((path: unknown) => splitPath(path, `${field}.byArgs`));
    // An empty selection selects nothing, as `byArgs: false` does.
    byArgs = paths.length > 0 ? paths : false;
  } else {
    byArgs = optionalBoolean(o.byArgs, `${field}.byArgs`);
  }

  let periodNanos: bigint | null = null;
  if (o.byPeriod !== undefined && o.byPeriod !== null) {
    if (typeof o.byPeriod !== "number" || !Number.isFinite(o.byPeriod)) {
      throw new ValidationError(`${field}.byPeriod`, "type", "must be a number of milliseconds", o.byPeriod);
    }
    if (o.byPeriod < 1000 || o.byPeriod % 1000 !== 0) {
      throw new ValidationError(
        `${field}.byPeriod`,
        "range",
        "must be a whole number of seconds, at least 1 (a multiple of 1000 ms)",
        o.byPeriod,
      );
    }
    // Go durations are nanoseconds; round away float noise such as 1000.0000001.
    periodNanos = BigInt(Math.round(o.byPeriod * Number(NANOS_PER_MILLI)));
  }

  let byState: JobState[] | null = null;
  if (o.byState !== undefined && o.byState !== null) {
    if (!Array.isArray(o.byState)) {
      throw new ValidationError(`${field}.byState`, "type", "must be a list of job states", o.byState);
    }
    for (const state of o.byState) {
      if (!JOB_STATES.includes(state as JobState)) {
        throw new ValidationError(
          `${field}.byState`,
          "unknown_state",
          `${JSON.stringify(state)} is not a job state`,
          state,
        );
      }
    }
    byState = [...(o.byState as JobState[])];
    const missing = REQUIRED_UNIQUE_STATES.filter((s) => !byState!.includes(s));
    if (missing.length > 0) {
      throw new ValidationError(
        `${field}.byState`,
        "required_states",
        `must include available, pending, running and scheduled (missing ${missing.join(", ")})`,
        o.byState,
      );
    }
  }

  const byQueue = optionalBoolean(o.byQueue, `${field}.byQueue`);
  const excludeKind = optionalBoolean(o.excludeKind, `${field}.excludeKind`);
  if (excludeKind && byArgs === false && periodNanos === null && !byQueue) {
    throw new ValidationError(
      `${field}.excludeKind`,
      "requires_dimension",
      "requires byArgs, byPeriod or byQueue",
      true,
    );
  }
  return { byArgs, periodNanos, byQueue, byState, excludeKind };
}

/** Whether checked options make a job unique at all. */
export function isUnique(opts: CheckedUniqueOpts): boolean {
  return opts.byArgs !== false || opts.periodNanos !== null || opts.byQueue || opts.byState !== null;
}

/** The `unique_states` bitmask: 245 (River's default) unless byState is set. */
export function statesMask(states: readonly JobState[]): number {
  return states.reduce((mask, s) => mask | (1 << JOB_STATES.indexOf(s)), 0);
}

/** The states whose bits are set in a unique-states mask, in bit order. */
export function maskStates(mask: number): JobState[] {
  return JOB_STATES.filter((_, i) => (mask & (1 << i)) !== 0);
}

/** The unique-states mask of unique options (245 unless byState is set). */
export function uniqueStatesMask(opts: UniqueOpts): number {
  return statesMask(checkUniqueOpts(opts).byState ?? DEFAULT_UNIQUE_STATES);
}

/** Components of a dotted path; a backslash makes the next character literal. */
function splitPath(path: unknown, field: string): string[] {
  if (typeof path !== "string" || path === "") {
    throw new ValidationError(field, "type", "each path must be a non-empty string", path);
  }
  const components: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "\\") {
      current += path[++i] ?? "\\";
    } else if (c === ".") {
      components.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  components.push(current);
  for (const component of components) {
    // River's path setter would treat a numeric component as an array index.
    if (component === "" || /^[0-9]+$/.test(component) || component === "-1") {
      throw new ValidationError(
        field,
        "path",
        "path components must be non-empty object keys, not array indexes",
        path,
      );
    }
  }
  return components;
}

function utf8(s: string): Buffer {
  return Buffer.from(s.toWellFormed(), "utf8");
}

/** A key as River writes it into canonical args: verbatim when printable ASCII, else Go-encoded. */
function canonicalKey(key: string): string {
  return /^[ !#-[\]-\x7f]*$/.test(key) ? `"${key}"` : encodeGoString(key);
}

function notObject(encoded: string): ValidationError {
  return new ValidationError("args", "type", "must encode a JSON object", encoded.slice(0, 40));
}

/** A member value is either raw text from the args or an object built from selected paths. */
type Built = { members: { key: string; rawKey: string; value: string | Built }[] };

function builtFromRaw(raw: string): Built {
  // Setting a path below a non-object value replaces that value with a new object.
  const members = objectMembers(raw, 0) ?? [];
  return { members: members.map((m: Member) => ({ key: m.key, rawKey: m.rawKey, value: raw.slice(m.start, m.end) })) };
}

function setPath(obj: Built, components: string[], raw: string): void {
  const [head, ...rest] = components as [string, ...string[]];
  const existing = obj.members.find((m) => m.key === head);
  if (existing !== undefined) {
    if (rest.length === 0) {
      existing.value = raw;
      return;
    }
    const child = typeof existing.value === "string" ? builtFromRaw(existing.value) : existing.value;
    existing.value = child;
    setPath(child, rest, raw);
    return;
  }
  let value: string | Built = raw;
  if (rest.length > 0) {
    value = { members: [] };
    setPath(value, rest, raw);
  }
  obj.members.push({ key: head, rawKey: canonicalKey(head), value });
}

function render(obj: Built): string {
  return (
    "{" +
    obj.members.map((m) => `${m.rawKey}:${typeof m.value === "string" ? m.value : render(m.value)}`).join(",") +
    "}"
  );
}

/** Raw text of the value at `components` (the first matching key at each level), if any. */
function lookup(encoded: string, start: number, components: string[]): string | null {
  let pos = start;
  for (const component of components) {
    const member = objectMembers(encoded, pos)?.find((m) => m.key === component);
    if (member === undefined) return null;
    pos = member.start;
  }
  return encoded.slice(pos, valueEnd(encoded, pos));
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(utf8(a), utf8(b));
}

/**
 * The args as they enter the unique key (spec/04-unique.md#canonical-args). All args
 * (`byArgs` true): top-level members sorted by key bytes, the first of repeated keys
 * winning, values copied byte for byte. Selected dotted paths: only those, set into an
 * empty object in sorted path order; the empty string when none is present.
 */
export function canonicalArgs(encodedArgs: string, byArgs: true | readonly string[] = true): string {
  return canonicalize(encodedArgs, byArgs === true ? null : byArgs.map((p) => splitPath(p, "byArgs")));
}

function canonicalize(encoded: string, selected: string[][] | null): string {
  const start = skipWhitespace(encoded, 0);
  const members = objectMembers(encoded, start);
  if (members === null) throw notObject(encoded);
  if (selected === null) {
    const seen = new Map<string, string>();
    for (const m of members) {
      if (!seen.has(m.key)) seen.set(m.key, encoded.slice(m.start, m.end));
    }
    const sorted = [...seen].sort(([a], [b]) => compareBytes(a, b));
    return "{" + sorted.map(([k, v]) => `${canonicalKey(k)}:${v}`).join(",") + "}";
  }
  // River sorts by the joined components, then by the escaped path text.
  const escaped = (components: string[]) =>
    components.map((c) => c.replaceAll("\\", "\\\\").replaceAll(".", "\\.")).join(".");
  const paths = [...selected].sort(
    (a, b) => compareBytes(a.join("."), b.join(".")) || compareBytes(escaped(a), escaped(b)),
  );
  let out: Built | null = null;
  for (const components of paths) {
    const raw = lookup(encoded, start, components);
    if (raw === null) continue;
    out ??= { members: [] };
    setPath(out, components, raw);
  }
  return out === null ? "" : render(out);
}

/** Go's `time.Time.Truncate`: periods count from 0001-01-01T00:00:00Z, not from 1970. */
const GO_ZERO_TIME_NANOS = -62_135_596_800n * 1_000_000_000n;

export function periodLowerBound(instant: bigint, periodNanos: bigint): bigint {
  const sinceZero = instant - GO_ZERO_TIME_NANOS;
  const rem = ((sinceZero % periodNanos) + periodNanos) % periodNanos;
  return instant - rem;
}

/** The string that is hashed (spec/04-unique.md#unique-key). */
export function uniqueKeyString(
  kind: string,
  encodedArgs: string,
  queue: string,
  opts: CheckedUniqueOpts,
  scheduledAt: bigint | null,
  now: bigint,
): string {
  let s = "";
  if (!opts.excludeKind) s += `&kind=${kind}`;
  if (opts.byArgs !== false) s += `&args=${canonicalize(encodedArgs, opts.byArgs === true ? null : opts.byArgs)}`;
  if (opts.periodNanos !== null)
    s += `&period=${formatSeconds(periodLowerBound(scheduledAt ?? now, opts.periodNanos))}`;
  if (opts.byQueue) s += `&queue=${queue}`;
  return s;
}

/** SHA-256 of the key string: the 32 bytes stored in `river_job.unique_key`. */
export function hashKey(keyString: string): Buffer {
  return createHash("sha256").update(utf8(keyString)).digest();
}

/** Inputs of {@link uniqueKey}. */
export interface UniqueKeyInput {
  kind: string;
  /** The args exactly as encoded for storage (see `encodeArgs`). */
  encodedArgs: string;
  /** The resolved queue; `default` when omitted. */
  queue?: string;
  uniqueOpts: UniqueOpts;
  /** The job's explicit scheduled time, if it has one. */
  scheduledAt?: TimeInput | null;
  /** The inserter's clock. */
  now: TimeInput;
}

/**
 * The raw 32-byte unique key River Go would store for this job, without a database; null
 * for options that make the job not unique (spec/04-unique.md#unique-key).
 */
export function uniqueKey(input: UniqueKeyInput): Buffer | null {
  const opts = checkUniqueOpts(input.uniqueOpts);
  if (!isUnique(opts)) return null;
  const scheduledAt =
    input.scheduledAt === undefined || input.scheduledAt === null ? null : toInstant(input.scheduledAt, "scheduledAt");
  return hashKey(
    uniqueKeyString(
      input.kind,
      input.encodedArgs,
      input.queue ?? "default",
      opts,
      scheduledAt,
      toInstant(input.now, "now"),
    ),
  );
}
