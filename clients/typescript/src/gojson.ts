/**
 * JSON exactly as Go's `encoding/json` writes it (spec/04-unique.md#args-encoding), an
 * exact JSON parser (big integers as bigint), and the raw-member scanning that unique keys
 * need. River Go hashes the bytes `json.Marshal` produces, so every client must produce
 * the same bytes for the same job: JSON.stringify does not (it leaves `<>&` and U+2028/9
 * raw, and writes -0 as 0).
 */

import { ValidationError } from "./errors";

/**
 * JSON text that is already encoded, like Go's `json.RawMessage`. It is stored as given
 * after the compaction Go applies to a `json.Marshaler`'s output (whitespace between
 * tokens dropped; `<`, `>`, `&`, U+2028 and U+2029 inside strings escaped), so its key
 * order and number digits survive exactly.
 */
export class RawJson {
  readonly text: string;

  constructor(text: string) {
    if (typeof text !== "string") {
      throw new ValidationError("args", "type", "RawJson takes JSON text (a string)", text);
    }
    this.text = text;
  }
}

/** Wraps pre-encoded JSON text; see {@link RawJson}. */
export function rawJson(text: string): RawJson {
  return new RawJson(text);
}

// Characters Go escapes inside strings; json.Marshal escapes HTML characters too.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029]/g;
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * A string as Go writes it. Lone UTF-16 surrogates, which no UTF-8 string can hold,
 * become U+FFFD, as Go's decoder turns them when it reads the same JSON.
 */
export function encodeGoString(s: string): string {
  return '"' + s.toWellFormed().replace(NEEDS_ESCAPE, escapeChar) + '"';
}

/**
 * A JS number as Go writes a float64. JS's shortest round-trip digits and its switch to
 * exponent form (below 1e-6, from 1e21) are Go's; only negative zero differs.
 */
function encodeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) {
    throw new ValidationError(path, "json", "must be a finite number (JSON has no NaN or Infinity)", n);
  }
  return Object.is(n, -0) ? "-0" : String(n);
}

/** time.Time's JSON: RFC 3339 in UTC, fraction trimmed of trailing zeros. */
function encodeDate(d: Date, path: string): string {
  if (Number.isNaN(d.getTime())) {
    throw new ValidationError(path, "json", "is an invalid Date", d);
  }
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new ValidationError(path, "json", "year must be 0 to 9999 (Go's time.Time JSON range)", d);
  }
  return '"' + d.toISOString().replace(/\.?0+Z$/, "Z") + '"';
}

function isPlainKeyed(value: object): boolean {
  const tag = Object.prototype.toString.call(value);
  return tag === "[object Object]" || tag === "[object Arguments]";
}

function encodeInto(value: unknown, path: string, out: string[], stack: Set<object>): void {
  switch (typeof value) {
    case "string":
      out.push(encodeGoString(value));
      return;
    case "number":
      out.push(encodeNumber(value, path));
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      break;
    default:
      throw new ValidationError(path, "type", `${typeof value} has no JSON form`, value);
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (value instanceof RawJson) {
    out.push(compactGo(value.text, path));
    return;
  }
  if (value instanceof Date) {
    out.push(encodeDate(value, path));
    return;
  }
  if (value instanceof Uint8Array) {
    // Go's []byte: standard base64 with padding.
    out.push('"' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") + '"');
    return;
  }
  if (value instanceof String || value instanceof Number || value instanceof Boolean || value instanceof BigInt) {
    encodeInto(value.valueOf(), path, out, stack);
    return;
  }
  if (stack.has(value)) {
    throw new ValidationError(path, "json", "refers to itself; JSON cannot hold a cycle");
  }
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      out.push("[");
      value.forEach((item: unknown, i) => {
        if (i > 0) out.push(",");
        encodeInto(item, `${path}[${i}]`, out, stack);
      });
      out.push("]");
    } else if (value instanceof Map) {
      encodeMap(value, path, out, stack);
    } else if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
      encodeInto((value as { toJSON: (key: string) => unknown }).toJSON(""), path, out, stack);
    } else if (isPlainKeyed(value)) {
      encodeObject(value as Record<string, unknown>, path, out, stack);
    } else {
      throw new ValidationError(path, "type", `${Object.prototype.toString.call(value)} has no JSON form`, value);
    }
  } finally {
    stack.delete(value);
  }
}

/** A plain object or class instance is a Go struct: own enumerable keys, in their order. */
function encodeObject(value: Record<string, unknown>, path: string, out: string[], stack: Set<object>): void {
  out.push("{");
  let first = true;
  for (const key of Object.keys(value)) {
    const item = value[key];
    // An undefined member is an unset optional property, as for JSON.stringify.
    if (item === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(encodeGoString(key), ":");
    encodeInto(item, `${path}.${key}`, out, stack);
  }
  out.push("}");
}

/** A Map is a Go map: Go writes map members sorted by key bytes. */
function encodeMap(value: Map<unknown, unknown>, path: string, out: string[], stack: Set<object>): void {
  const entries: [Buffer, string, unknown][] = [];
  for (const [key, item] of value) {
    if (typeof key !== "string") {
      throw new ValidationError(path, "type", "Map keys must be strings", key);
    }
    entries.push([Buffer.from(key.toWellFormed(), "utf8"), key, item]);
  }
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  out.push("{");
  entries.forEach(([, key, item], i) => {
    if (i > 0) out.push(",");
    out.push(encodeGoString(key), ":");
    encodeInto(item === undefined ? null : item, `${path}.${key}`, out, stack);
  });
  out.push("}");
}

/**
 * The text Go's `json.Marshal` produces for the Go value equivalent to `value`:
 * objects and class instances as structs (own keys in order), Maps as Go maps (sorted
 * keys), numbers as float64, bigints as exact integers, Dates as time.Time,
 * Uint8Arrays as []byte (base64), RawJson as given (compacted). Anything without a JSON
 * form raises a ValidationError naming its path below `path`.
 */
export function encodeGo(value: unknown, path = "args"): string {
  const out: string[] = [];
  encodeInto(value, path, out, new Set());
  return out.join("");
}

/**
 * Returns encoded JSON unless a string or key in it holds U+0000, which PostgreSQL's jsonb
 * cannot store (spec/03-insert.md#nul). Encoded JSON writes it only as the escape \u0000,
 * found by walking each string's escapes.
 */
export function rejectNul(encoded: string, path: string): string {
  let inString = false;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x22) {
      inString = !inString;
    } else if (c === 0x5c && inString) {
      if (encoded.startsWith("u0000", i + 1)) {
        throw new ValidationError(path, "json", "must not hold U+0000, which PostgreSQL's jsonb cannot store");
      }
      i++;
    }
  }
  return encoded;
}

/**
 * Pre-encoded JSON as Go's json.Marshal emits a json.Marshaler's output: validated, then
 * compacted with HTML characters and line separators in strings escaped.
 */
export function compactGo(text: string, path = "args"): string {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new ValidationError(path, "json", `must be JSON text: ${(err as Error).message}`, text.slice(0, 40));
  }
  const out: string[] = [];
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let replacement: string | null = null;
    if (inString) {
      if (c === 0x5c) {
        i++; // an escape: the next character is copied as is
        continue;
      }
      if (c === 0x22) inString = false;
      else if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
        replacement = `\\u${c.toString(16).padStart(4, "0")}`;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      replacement = "";
    }
    if (replacement !== null) {
      out.push(text.slice(runStart, i), replacement);
      runStart = i + 1;
    }
  }
  out.push(text.slice(runStart));
  return out.join("").toWellFormed();
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Source spans `[start, end)` of parsed objects and arrays, for {@link parseJson}. */
export type SourceSpans = WeakMap<object, [number, number]>;

class Parser {
  i = 0;

  constructor(
    readonly text: string,
    readonly spans: SourceSpans | undefined,
  ) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at offset ${this.i} of JSON text`);
  }

  ws(): void {
    while (this.i < this.text.length && WHITESPACE.has(this.text.charCodeAt(this.i))) this.i++;
  }

  value(): unknown {
    this.ws();
    const start = this.i;
    const c = this.text[this.i];
    if (c === "{") return this.track(this.object(), start);
    if (c === "[") return this.track(this.array(), start);
    if (c === '"') return this.string();
    for (const [word, result] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return result;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail("unexpected character");
    this.i += m[0].length;
    const n = Number(m[0]);
    // Integers past 2^53 would be rounded by a double; keep them exact.
    if (!/[.eE]/.test(m[0]) && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  track<T extends object>(value: T, start: number): T {
    this.spans?.set(value, [start, this.i]);
    return value;
  }

  string(): string {
    const end = stringEnd(this.text, this.i);
    if (end < 0) this.fail("unterminated string");
    const s = JSON.parse(this.text.slice(this.i, end)) as string;
    this.i = end;
    return s;
  }

  object(): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.text[this.i] === "}") {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail("expected a string key");
      const key = this.string();
      this.ws();
      if (this.text[this.i] !== ":") this.fail("expected ':'");
      this.i++;
      // defineProperty: a "__proto__" key is data, not the prototype.
      Object.defineProperty(obj, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.text[this.i++];
      if (c === "}") return obj;
      if (c !== ",") this.fail("expected ',' or '}'");
    }
  }

  array(): unknown[] {
    const arr: unknown[] = [];
    this.i++;
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      this.ws();
      const c = this.text[this.i++];
      if (c === "]") return arr;
      if (c !== ",") this.fail("expected ',' or ']'");
    }
  }
}

/**
 * Parses JSON text like JSON.parse, except that integers outside ±(2^53 − 1) become
 * bigints instead of being rounded. With `spans`, records where each object and array
 * came from in the text.
 */
export function parseJson(text: string, spans?: SourceSpans): unknown {
  const p = new Parser(text, spans);
  const value = p.value();
  p.ws();
  if (p.i !== text.length) p.fail("unexpected text after the value");
  return value;
}

/** Offset just past the string starting at `i` (a `"`), or -1 if it never ends. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

export function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text.charCodeAt(i))) i++;
  return i;
}

/** Offset just past the JSON value starting at `i` (the text is known to be valid JSON). */
export function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    const end = stringEnd(text, i);
    return end < 0 ? text.length : end;
  }
  if (c !== "{" && c !== "[") {
    let j = i;
    while (j < text.length && !",:]} \t\n\r".includes(text[j]!)) j++;
    return j;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text[j];
    if (d === '"') {
      const end = stringEnd(text, j);
      if (end < 0) return text.length;
      j = end - 1;
    } else if (d === "{" || d === "[") {
      depth++;
    } else if (d === "}" || d === "]") {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return text.length;
}

/** One member of an encoded object: its key text as written, the key, and its value span. */
export interface Member {
  rawKey: string;
  key: string;
  start: number;
  end: number;
}

/** The members of the object at `start` in source order, or null if no object is there. */
export function objectMembers(text: string, start: number): Member[] | null {
  let i = skipWhitespace(text, start);
  if (text[i] !== "{") return null;
  i = skipWhitespace(text, i + 1);
  const members: Member[] = [];
  if (text[i] === "}") return members;
  for (;;) {
    if (text[i] !== '"') return null;
    const keyEnd = valueEnd(text, i);
    const rawKey = text.slice(i, keyEnd);
    i = skipWhitespace(text, keyEnd);
    if (text[i] !== ":") return null;
    const vStart = skipWhitespace(text, i + 1);
    const vEnd = valueEnd(text, vStart);
    members.push({ rawKey, key: JSON.parse(rawKey) as string, start: vStart, end: vEnd });
    i = skipWhitespace(text, vEnd);
    if (text[i] === "}") return members;
    if (text[i] !== ",") return null;
    i = skipWhitespace(text, i + 1);
  }
}
