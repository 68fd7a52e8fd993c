/** A `river_job` row as the insert returns it, decoded without loss. */

import { parseJson } from "./gojson";
import { JobState, maskStates } from "./unique";

/**
 * One `river_job` row. `id` is a bigint (the column is int8). JSON columns are parsed
 * with integers beyond 2^53 as bigints. Times are RFC 3339 text in UTC with
 * microseconds (`2026-01-02T03:04:05.678901Z`), Postgres' full precision, which a Date
 * would cut to milliseconds; `new Date(job.createdAt)` gives one.
 */
export interface Job {
  id: bigint;
  args: Record<string, unknown>;
  attempt: number;
  attemptedAt: string | null;
  attemptedBy: string[];
  createdAt: string;
  errors: unknown[];
  finalizedAt: string | null;
  kind: string;
  maxAttempts: number;
  metadata: Record<string, unknown>;
  priority: number;
  queue: string;
  scheduledAt: string;
  state: JobState;
  tags: string[];
  /** The 32-byte SHA-256 unique key, or null for a job that is not unique. */
  uniqueKey: Buffer | null;
  /** The states in which this job blocks a duplicate, or null for a job that is not unique. */
  uniqueStates: JobState[] | null;
}

/** The inserted row, or the live duplicate that blocked the insert. */
export interface InsertResult {
  job: Job;
  /** True when a live job with the same unique key existed and nothing was inserted. */
  uniqueSkippedAsDuplicate: boolean;
}

/** A row of job_insert_many.sql, every column as text (see its RETURNING list). */
export type JobRow = Record<string, string | null>;

function text(row: JobRow, column: string): string {
  const value = row[column];
  if (value === null || value === undefined) throw new Error(`river_job.${column} is unexpectedly NULL`);
  return value;
}

/**
 * The rows of one insert statement in input order. PostgreSQL does not promise RETURNING
 * order, so each row carries `ord`, its job's 1-based position
 * (spec/03-insert.md#the-insert-statement).
 */
export function placeByOrdinal(returned: readonly JobRow[], count: number): JobRow[] {
  const placed: (JobRow | undefined)[] = new Array<JobRow | undefined>(count).fill(undefined);
  for (const row of returned) {
    const ord = Number(row.ord);
    if (!Number.isInteger(ord) || ord < 1 || ord > count || placed[ord - 1] !== undefined) {
      throw new Error(`insert returned ordinal ${String(row.ord)} for a batch of ${count} jobs`);
    }
    placed[ord - 1] = row;
  }
  if (returned.length !== count) throw new Error(`insert returned ${returned.length} rows for ${count} jobs`);
  return placed as JobRow[];
}

export function jobFromRow(row: JobRow): InsertResult {
  const uniqueKey = row.unique_key ?? null;
  const uniqueStates = row.unique_states ?? null;
  return {
    job: {
      id: BigInt(text(row, "id")),
      args: parseJson(text(row, "args")) as Record<string, unknown>,
      attempt: Number(text(row, "attempt")),
      attemptedAt: row.attempted_at ?? null,
      attemptedBy: JSON.parse(text(row, "attempted_by")) as string[],
      createdAt: text(row, "created_at"),
      errors: parseJson(text(row, "errors")) as unknown[],
      finalizedAt: row.finalized_at ?? null,
      kind: text(row, "kind"),
      maxAttempts: Number(text(row, "max_attempts")),
      metadata: parseJson(text(row, "metadata")) as Record<string, unknown>,
      priority: Number(text(row, "priority")),
      queue: text(row, "queue"),
      scheduledAt: text(row, "scheduled_at"),
      state: text(row, "state") as JobState,
      tags: JSON.parse(text(row, "tags")) as string[],
      uniqueKey: uniqueKey === null ? null : Buffer.from(uniqueKey, "hex"),
      uniqueStates: uniqueStates === null ? null : maskStates(Number(uniqueStates)),
    },
    uniqueSkippedAsDuplicate: text(row, "unique_skipped_as_duplicate") === "t",
  };
}
