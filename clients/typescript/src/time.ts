/**
 * Instants as bigint nanoseconds since the Unix epoch. A JS Date holds milliseconds,
 * but Postgres keeps microseconds and unique-key periods are counted in Go's
 * nanoseconds, so times given as RFC 3339 text keep their full precision.
 */

import { ValidationError } from "./errors";

export const NANOS_PER_MILLI = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400n;

/** A point in time the client accepts: a Date, or RFC 3339 text with an explicit offset. */
export type TimeInput = Date | string;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;

/** Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian date of a day count from 1970-01-01. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

/**
 * Nanoseconds since the Unix epoch of a Date or RFC 3339 text. Text without an offset
 * is rejected, never guessed as UTC or local time (spec/03-insert.md#parameters).
 */
export function toInstant(value: unknown, field: string): bigint {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new ValidationError(field, "type", "is an invalid Date", value);
    const year = value.getUTCFullYear();
    if (year < 1 || year > 9999) throw new ValidationError(field, "range", "year must be 1 to 9999", value);
    return BigInt(ms) * NANOS_PER_MILLI;
  }
  if (typeof value !== "string") {
    throw new ValidationError(field, "type", "must be a Date or RFC 3339 text", value);
  }
  const m = RFC3339.exec(value);
  if (m === null) throw new ValidationError(field, "format", "must be RFC 3339 text", value);
  if (m[8] === undefined && m[9] === undefined) {
    throw new ValidationError(field, "format", "must be timezone-aware (give Z or an offset)", value);
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw new ValidationError(field, "range", "has a field out of range", value);
  }
  // Go reads at most nanoseconds; further digits are dropped.
  const fraction = BigInt((m[7] ?? "").slice(0, 9).padEnd(9, "0"));
  const offset = (m[9] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  const seconds =
    BigInt(daysFromCivil(year, month, day)) * SECONDS_PER_DAY + BigInt(hour * 3600 + minute * 60 + second - offset);
  return seconds * NANOS_PER_SECOND + fraction;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, "0");
}

function dateTimeParts(instant: bigint): { date: string; time: string; subsecondNanos: bigint } {
  const seconds = floorDiv(instant, NANOS_PER_SECOND);
  const days = floorDiv(seconds, SECONDS_PER_DAY);
  const secondOfDay = Number(seconds - days * SECONDS_PER_DAY);
  const [y, mo, d] = civilFromDays(Number(days));
  const [h, mi, sec] = [Math.floor(secondOfDay / 3600), Math.floor((secondOfDay % 3600) / 60), secondOfDay % 60];
  return {
    date: `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`,
    time: `${pad(h, 2)}:${pad(mi, 2)}:${pad(sec, 2)}`,
    subsecondNanos: instant - seconds * NANOS_PER_SECOND,
  };
}

/** `YYYY-MM-DDTHH:MM:SSZ` in UTC: the period bound's form in a unique key. */
export function formatSeconds(instant: bigint): string {
  const { date, time } = dateTimeParts(instant);
  return `${date}T${time}Z`;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, truncated to Postgres' microseconds (as pgx
 * truncates a Go time.Time), for sending to the database.
 */
export function formatMicros(instant: bigint): string {
  const { date, time, subsecondNanos } = dateTimeParts(instant);
  return `${date}T${time}.${pad(subsecondNanos / 1000n, 6)}Z`;
}

/** The inserter's clock. */
export function nowInstant(): bigint {
  return BigInt(Date.now()) * NANOS_PER_MILLI;
}
