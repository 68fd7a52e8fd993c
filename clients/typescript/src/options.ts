/**
 * Insert options and River's rules for them (spec/03-insert.md#parameters). Checking is
 * pure and happens before any SQL is sent.
 */

import { ValidationError } from "./errors";
import { encodeGo, objectMembers, RawJson, rejectNul } from "./gojson";
import { TimeInput, toInstant } from "./time";
import { CheckedUniqueOpts, checkUniqueOpts, UniqueOpts } from "./unique";

/**
 * Options of one insert, or a kind's insert defaults. Every field is optional: an unset
 * (undefined or null) field falls back to the kind's defaults, then to the client's.
 * Fields are taken whole from the first source that sets them, never merged.
 */
export interface InsertOpts {
  /**
   * Queue name: lowercase letters and digits with single `_`, `-` or `|` separators, at
   * most 64 characters. Default `default`.
   */
  queue?: string;
  /** 1 (runs first) to 4. Default 1. */
  priority?: number;
  /** 1 to 32767. Default 25. */
  maxAttempts?: number;
  /**
   * When to run: a Date, or RFC 3339 text with an offset (which keeps microseconds). Any
   * explicit time, even a past one, inserts the job `scheduled`.
   */
  scheduledAt?: TimeInput;
  /** Insert the job `pending` (not runnable until something makes it available). */
  pending?: boolean;
  /** Each 3–255 ASCII letters, digits, `_` or inner `-` (no commas, no spaces). */
  tags?: readonly string[];
  /** A JSON object; top-level keys must not begin `river:` (reserved for River). */
  metadata?: Record<string, unknown> | Map<string, unknown> | RawJson;
  /** Makes the job unique (spec/04-unique.md). */
  uniqueOpts?: UniqueOpts;
}

/** InsertOpts after checking: times as instants, metadata encoded. */
export interface CheckedOpts {
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  scheduledAt?: bigint;
  pending?: boolean;
  tags?: string[];
  metadata?: string;
  uniqueOpts?: CheckedUniqueOpts;
}

export const QUEUE_DEFAULT = "default";
export const PRIORITY_DEFAULT = 1;
export const MAX_ATTEMPTS_DEFAULT = 25;
const KIND_MAX_LENGTH = 127;
const QUEUE_MAX_LENGTH = 64;
const TAG_MAX_LENGTH = 255;
// River's queue names, in the unambiguous form of spec/03-insert.md#queue-names (River's own
// pattern backtracks exponentially in JS's regex engine); JS's \w is ASCII-only like Go's.
const QUEUE_PATTERN = /^[a-z0-9]+(?:[_|-][a-z0-9]+)*$/;
const TAG_PATTERN = /^\w[\w-]+\w$/;
const RESERVED_METADATA_PREFIX = "river:";

const OPTION_NAMES = new Set([
  "queue",
  "priority",
  "maxAttempts",
  "scheduledAt",
  "pending",
  "tags",
  "metadata",
  "uniqueOpts",
]);

export function checkKind(kind: unknown): string {
  // The column CHECK counts characters, not UTF-16 units.
  if (typeof kind !== "string") throw new ValidationError("kind", "type", "must be a string", kind);
  if (kind === "" || [...kind].length > KIND_MAX_LENGTH) {
    throw new ValidationError("kind", "length", `must be a string of 1 to ${KIND_MAX_LENGTH} characters`, kind);
  }
  return kind;
}

export function checkQueue(queue: unknown): string {
  if (typeof queue !== "string") throw new ValidationError("queue", "type", "must be a string", queue);
  if (queue.length === 0 || queue.length > QUEUE_MAX_LENGTH) {
    throw new ValidationError("queue", "length", `must be 1 to ${QUEUE_MAX_LENGTH} characters`, queue);
  }
  if (!QUEUE_PATTERN.test(queue)) {
    throw new ValidationError(
      "queue",
      "pattern",
      `${JSON.stringify(queue)} must be lowercase letters and digits with single _, - or | separators`,
      queue,
    );
  }
  return queue;
}

function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ValidationError(field, "type", "must be an integer", value);
  }
  if (value < min || value > max) throw new ValidationError(field, "range", `must be ${min} to ${max}`, value);
  return value;
}

export function checkPriority(priority: unknown): number {
  return checkInteger("priority", priority, 1, 4);
}

export function checkMaxAttempts(maxAttempts: unknown): number {
  // The column is a smallint.
  return checkInteger("maxAttempts", maxAttempts, 1, 32767);
}

export function checkTags(tags: unknown): string[] {
  if (!Array.isArray(tags)) throw new ValidationError("tags", "type", "must be a list of strings", tags);
  for (const tag of tags) {
    if (typeof tag !== "string") throw new ValidationError("tags", "type", "each tag must be a string", tag);
    if (tag.length < 3 || tag.length > TAG_MAX_LENGTH) {
      throw new ValidationError(
        "tags",
        "length",
        `tag ${JSON.stringify(tag)} must be 3 to ${TAG_MAX_LENGTH} characters`,
        tag,
      );
    }
    if (!TAG_PATTERN.test(tag)) {
      throw new ValidationError(
        "tags",
        "pattern",
        `tag ${JSON.stringify(tag)} must be ASCII letters, digits or _, with - allowed inside (no commas or spaces)`,
        tag,
      );
    }
  }
  return [...tags];
}

/** Metadata encoded as Go would, checked to be an object without River's reserved keys. */
export function checkMetadata(metadata: unknown): string {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new ValidationError("metadata", "type", "must be a JSON object", metadata);
  }
  const encoded = rejectNul(encodeGo(metadata, "metadata"), "metadata");
  const members = objectMembers(encoded, 0);
  if (members === null) throw new ValidationError("metadata", "type", "must be a JSON object", metadata);
  for (const { key } of members) {
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      throw new ValidationError(
        "metadata",
        "reserved",
        `keys beginning "${RESERVED_METADATA_PREFIX}" are reserved for River`,
        key,
      );
    }
  }
  return encoded;
}

function isSet<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

/** Checks every option that is set; unknown option names are rejected too. */
export function checkInsertOpts(opts: unknown): CheckedOpts {
  if (!isSet(opts)) return {};
  if (typeof opts !== "object" || opts === null || Array.isArray(opts) || opts instanceof RawJson) {
    throw new ValidationError("opts", "type", "insert options must be an object", opts);
  }
  for (const key of Object.keys(opts)) {
    if (!OPTION_NAMES.has(key)) throw new ValidationError(key, "choice", "is not an insert option");
  }
  const o = opts as Record<string, unknown>;
  const checked: CheckedOpts = {};
  if (isSet(o.queue)) checked.queue = checkQueue(o.queue);
  if (isSet(o.priority)) checked.priority = checkPriority(o.priority);
  if (isSet(o.maxAttempts)) checked.maxAttempts = checkMaxAttempts(o.maxAttempts);
  if (isSet(o.scheduledAt)) checked.scheduledAt = toInstant(o.scheduledAt, "scheduledAt");
  if (isSet(o.pending)) {
    if (typeof o.pending !== "boolean") throw new ValidationError("pending", "type", "must be a boolean", o.pending);
    checked.pending = o.pending;
  }
  if (isSet(o.tags)) checked.tags = checkTags(o.tags);
  if (isSet(o.metadata)) checked.metadata = checkMetadata(o.metadata);
  if (isSet(o.uniqueOpts)) checked.uniqueOpts = checkUniqueOpts(o.uniqueOpts);
  return checked;
}
