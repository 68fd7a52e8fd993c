// Args encoding as Go's encoding/json writes it (spec/04-unique.md#args-encoding), and the
// exact parser used for rows and requests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { compactGo, encodeArgs, encodeGo, parseJson, rawJson, ValidationError } from "@riverboat/client";

describe("encodeGo: the spec's table", () => {
  const cases: [string, unknown, string][] = [
    ["member order kept", { z: 1, a: 2 }, '{"z":1,"a":2}'],
    ["HTML characters escaped", "<a>&b", '"\\u003ca\\u003e\\u0026b"'],
    ["line separators escaped", "\u2028\u2029", '"\\u2028\\u2029"'],
    ["short escapes and \\u00XX", "tab\there\x01\b\f\n\r", '"tab\\there\\u0001\\b\\f\\n\\r"'],
    ["non-ASCII raw", "é😀", '"é😀"'],
    ["DEL and slash raw", "\x7f/", '"\x7f/"'],
    ["quote and backslash", 'say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'],
    ["bigint exact", 2n ** 70n, "1180591620717411303424"],
    ["negative bigint", -(2n ** 63n), "-9223372036854775808"],
    ["integral float", 1.0, "1"],
    ["negative zero", -0, "-0"],
    ["1e-6 plain", 0.000001, "0.000001"],
    ["1e-7 exponent", 1e-7, "1e-7"],
    ["1.5e-7", 1.5e-7, "1.5e-7"],
    ["1e20 plain", 1e20, "100000000000000000000"],
    ["1e21 exponent", 1e21, "1e+21"],
    ["max float", 1.7976931348623157e308, "1.7976931348623157e+308"],
    ["smallest float", 5e-324, "5e-324"],
    ["shortest digits", 0.1 + 0.2, "0.30000000000000004"],
    ["literals", [true, false, null], "[true,false,null]"],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => assert.equal(encodeGo(value), expected));
  }
});

describe("encodeGo: JS values", () => {
  test("undefined members are skipped like unset optional properties", () => {
    assert.equal(encodeGo({ a: undefined, b: 1 }), '{"b":1}');
  });
  test("class instances are structs: own fields in declaration order", () => {
    class Point {
      y = 2;
      x = 1;
    }
    assert.equal(encodeGo(new Point()), '{"y":2,"x":1}');
  });
  test("Map is a Go map: keys sorted by UTF-8 bytes", () => {
    assert.equal(
      encodeGo(
        new Map<string, number>([
          ["b", 1],
          ["😀", 3],
          ["｡", 4],
          ["a", 2],
        ]),
      ),
      '{"a":2,"b":1,"｡":4,"😀":3}',
    );
  });
  test("Date is a Go time.Time", () => {
    assert.equal(encodeGo(new Date("2026-01-02T03:04:05.600Z")), '"2026-01-02T03:04:05.6Z"');
    assert.equal(encodeGo(new Date("2026-01-02T03:04:05Z")), '"2026-01-02T03:04:05Z"');
  });
  test("Uint8Array is a Go []byte (base64)", () => {
    assert.equal(encodeGo(Buffer.from([0, 1, 2, 250])), '"AAEC+g=="');
  });
  test("toJSON is used, like a json.Marshaler", () => {
    assert.equal(encodeGo({ v: { toJSON: () => "<x>" } }), '{"v":"\\u003cx\\u003e"}');
  });
  test("RawJson nested in a value is compacted, not re-encoded", () => {
    assert.equal(encodeGo({ raw: rawJson('{ "b": 1, "a": [1.50, 1e2] }') }), '{"raw":{"b":1,"a":[1.50,1e2]}}');
  });
  test("lone surrogates become U+FFFD", () => {
    assert.equal(encodeGo("a\ud800b\udc00"), '"a\ufffdb\ufffd"');
    assert.equal(encodeGo("\ud83d\ude00"), '"😀"');
  });
  test("integer-like keys follow JS property order (use RawJson or a Map to choose)", () => {
    assert.equal(encodeGo({ b: 1, 2: 2, 1: 3 }), '{"1":3,"2":2,"b":1}');
  });
});

describe("encodeGo: values without a JSON form", () => {
  const rejects: [string, unknown, string, string][] = [
    ["NaN", { x: NaN }, "args.x", "json"],
    ["Infinity", { x: [1, -Infinity] }, "args.x[1]", "json"],
    ["function", { f: () => 1 }, "args.f", "type"],
    ["symbol", { s: Symbol("s") }, "args.s", "type"],
    ["undefined in an array", { a: [undefined] }, "args.a[0]", "type"],
    ["Set", { s: new Set([1]) }, "args.s", "type"],
    ["invalid Date", { d: new Date("nope") }, "args.d", "json"],
    ["Date beyond year 9999", { d: new Date("+010000-01-01T00:00:00Z") }, "args.d", "json"],
    ["Map with non-string keys", { m: new Map([[1, 1]]) }, "args.m", "type"],
  ];
  for (const [name, value, field, rule] of rejects) {
    test(name, () => {
      assert.throws(
        () => encodeGo(value),
        (e: unknown) => e instanceof ValidationError && e.field === field && e.rule === rule,
      );
    });
  }
  test("a cycle", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(
      () => encodeGo(a),
      (e: unknown) => e instanceof ValidationError && e.field === "args.self" && e.rule === "json",
    );
  });
  test("shared (non-cyclic) references are fine", () => {
    const shared = { n: 1 };
    assert.equal(encodeGo({ a: shared, b: shared }), '{"a":{"n":1},"b":{"n":1}}');
  });
});

describe("compactGo: pre-encoded JSON as Go stores a json.Marshaler's output", () => {
  test("whitespace between tokens dropped, inside strings kept", () => {
    assert.equal(compactGo('{ "z" : 1,\n\t"a" : [3, 2, 1], "s": "a b" }'), '{"z":1,"a":[3,2,1],"s":"a b"}');
  });
  test("HTML characters and line separators in strings escaped, escapes kept", () => {
    assert.equal(compactGo('{"<k>":"&\u2028\\u00e9\\"<"}'), '{"\\u003ck\\u003e":"\\u0026\\u2028\\u00e9\\"\\u003c"}');
  });
  test("number digits kept exactly", () => {
    assert.equal(
      compactGo('{"n":1.50,"big":123456789012345678901234567890}'),
      '{"n":1.50,"big":123456789012345678901234567890}',
    );
  });
  test("invalid JSON rejected", () => {
    assert.throws(
      () => compactGo("{x}"),
      (e: unknown) => e instanceof ValidationError && e.field === "args" && e.rule === "json",
    );
    assert.throws(() => compactGo("NaN"), ValidationError);
  });
});

describe("encodeArgs", () => {
  test("plain object job", () =>
    assert.equal(encodeArgs({ kind: "k", args: { to: "<a@b>" } }), '{"to":"\\u003ca@b\\u003e"}'));
  test("RawJson job keeps key order and big integers", () => {
    assert.equal(
      encodeArgs({ kind: "k", args: rawJson('{"2": 9223372036854775807, "1": 0}') }),
      '{"2":9223372036854775807,"1":0}',
    );
  });
});

describe("parseJson", () => {
  test("integers past 2^53 become bigints, others stay numbers", () => {
    assert.deepEqual(parseJson('{"max":9223372036854775807,"min":-9223372036854775808,"n":42,"f":1.5,"e":1e300}'), {
      max: 9223372036854775807n,
      min: -9223372036854775808n,
      n: 42,
      f: 1.5,
      e: 1e300,
    });
  });
  test("__proto__ is an ordinary key", () => {
    const value = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__"]);
  });
  test("strings, arrays, literals, whitespace", () => {
    assert.deepEqual(parseJson(' [ "a\\u00e9\\n", true, false, null, [], {} ] '), ["aé\n", true, false, null, [], {}]);
  });
  test("records source spans", () => {
    const spans = new WeakMap<object, [number, number]>();
    const text = '{"args": {"b": 1, "a": 2}}';
    const value = parseJson(text, spans) as { args: object };
    const [start, end] = spans.get(value.args)!;
    assert.equal(text.slice(start, end), '{"b": 1, "a": 2}');
  });
  test("rejects invalid text", () => {
    for (const bad of ["", "{", '{"a":}', "[1,]", "01", "1 2", "'x'", "NaN"]) {
      assert.throws(() => parseJson(bad), SyntaxError, bad);
    }
  });
});
