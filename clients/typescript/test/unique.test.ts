// Unique keys against the shared golden vectors and the worked examples of spec/04-unique.md.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import {
  canonicalArgs,
  encodeArgs,
  JobState,
  rawJson,
  TimeInput,
  uniqueKey,
  UniqueOpts,
  uniqueStatesMask,
  ValidationError,
} from "@riverboat/client";

/** An entry of the fixture file: unique_key's params (conformance/ADAPTER.md#unique-key) and its result. */
interface Fixture {
  name: string;
  params: {
    kind: string;
    args_json: string;
    now: string;
    opts: {
      queue: string;
      scheduled_at: string | null;
      unique_opts: {
        by_args: boolean | string[];
        by_period_seconds: number | null;
        by_queue: boolean;
        by_state: JobState[] | null;
        exclude_kind: boolean;
      };
    };
  };
  expected: { sha256: string; state_mask: number };
}

const FIXTURES = join(__dirname, "..", "..", "..", "conformance", "fixtures", "unique_keys.json");
const NOW = "2026-01-02T03:04:05.6789Z";

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function keyOf(
  kind: string,
  args: string,
  opts: UniqueOpts,
  extra: { queue?: string; scheduledAt?: string; now?: TimeInput } = {},
): string | undefined {
  return uniqueKey({
    kind,
    encodedArgs: encodeArgs({ kind, args: rawJson(args) }),
    queue: extra.queue,
    uniqueOpts: opts,
    scheduledAt: extra.scheduledAt,
    now: extra.now ?? NOW,
  })?.toString("hex");
}

describe("conformance/fixtures/unique_keys.json", () => {
  const fixtures = JSON.parse(readFileSync(FIXTURES, "utf8")) as Fixture[];
  test("has entries", () => assert.ok(fixtures.length >= 9));
  for (const f of fixtures) {
    test(f.name, () => {
      const { kind, args_json: args, now, opts: o } = f.params;
      const u = o.unique_opts;
      const uniqueOpts = {
        byArgs: u.by_args,
        byPeriod: u.by_period_seconds === null ? undefined : u.by_period_seconds * 1000,
        byQueue: u.by_queue,
        byState: u.by_state ?? undefined,
        excludeKind: u.exclude_kind,
      };
      const key = uniqueKey({
        kind,
        encodedArgs: encodeArgs({ kind, args: rawJson(args) }),
        queue: o.queue,
        uniqueOpts,
        scheduledAt: o.scheduled_at,
        now,
      });
      assert.equal(key?.toString("hex"), f.expected.sha256);
      assert.equal(key?.length, 32);
      assert.equal(uniqueStatesMask(uniqueOpts), f.expected.state_mask);
    });
  }
});

describe("options that make no job unique give no key (spec/04-unique.md#unique-key)", () => {
  for (const [name, opts] of [
    ["no option set", {}],
    ["every option unset", { byArgs: false, byQueue: false }],
    ["an empty list of paths", { byArgs: [] }],
  ] as [string, UniqueOpts][]) {
    test(name, () => assert.equal(keyOf("k", "{}", opts), undefined));
  }
});

describe("key strings (spec/04-unique.md#vectors)", () => {
  test("period from now, 90 minutes", () => {
    assert.equal(
      keyOf("conformance_simple", '{"id":42}', { byPeriod: 90 * 60_000 }),
      sha256("&kind=conformance_simple&period=2026-01-02T03:00:00Z"),
    );
  });
  test("every dimension in order", () => {
    assert.equal(
      keyOf(
        "conformance_simple",
        '{"id":42}',
        { byArgs: true, byPeriod: 60_000, byQueue: true },
        { queue: "priority_emails", scheduledAt: "2026-01-02T05:21:05.6789Z" },
      ),
      sha256('&kind=conformance_simple&args={"id":42}&period=2026-01-02T05:21:00Z&queue=priority_emails'),
    );
  });
  test("exclude kind", () => {
    assert.equal(keyOf("k", "{}", { byQueue: true, excludeKind: true }, { queue: "q" }), sha256("&queue=q"));
  });
  test("queue defaults to default", () => {
    assert.equal(keyOf("k", "{}", { byQueue: true }), sha256("&kind=k&queue=default"));
  });
  test("no selected path present gives an empty args part", () => {
    assert.equal(keyOf("k", '{"x":1}', { byArgs: ["label"] }), sha256("&kind=k&args="));
  });
  test("an empty list of paths adds no args part", () => {
    assert.equal(keyOf("k", '{"x":1}', { byArgs: [], byQueue: true }, { queue: "q" }), sha256("&kind=k&queue=q"));
  });
});

describe("periods count from Go's zero time", () => {
  const bound = (periodMs: number, at: TimeInput = NOW) => keyOf("k", "{}", { byPeriod: periodMs }, { now: at });
  test("7 days lands on a Monday", () =>
    assert.equal(bound(7 * 86_400_000), sha256("&kind=k&period=2025-12-29T00:00:00Z")));
  test("7 minutes", () => assert.equal(bound(7 * 60_000), sha256("&kind=k&period=2026-01-02T03:03:00Z")));
  // 2026-01-02 is day 739,617 after 0001-01-01, a multiple of 3 (counting from 1970 would give 2026-01-01).
  test("3 days", () => assert.equal(bound(3 * 86_400_000), sha256("&kind=k&period=2026-01-02T00:00:00Z")));
  test("the instant counts, not its offset", () => {
    assert.equal(bound(3_600_000, "2026-01-02T08:34:05.6789+05:30"), sha256("&kind=k&period=2026-01-02T03:00:00Z"));
  });
  test("a Date works as the clock", () => {
    assert.equal(bound(3_600_000, new Date("2026-01-02T03:59:59.999Z")), sha256("&kind=k&period=2026-01-02T03:00:00Z"));
  });
  test("a period that is not whole seconds is refused (spec/04-unique.md#options)", () => {
    assert.throws(() => bound(1500, "2026-01-02T03:04:05.6789Z"), /whole number of seconds/);
  });
});

describe("canonical args (spec/04-unique.md#canonical-args)", () => {
  test("sorted by key, first duplicate wins", () => {
    assert.equal(canonicalArgs('{"b":1,"a":2}'), '{"a":2,"b":1}');
    assert.equal(canonicalArgs('{"b":1,"a":2,"b":3}'), '{"a":2,"b":1}');
  });
  test("nested values copied byte for byte", () => {
    assert.equal(canonicalArgs('{"nested":{"z":1,"a":2}}'), '{"nested":{"z":1,"a":2}}');
    assert.equal(canonicalArgs("{}"), "{}");
  });
  test("keys: printable ASCII verbatim, others Go-encoded", () => {
    assert.equal(canonicalArgs('{"\\u003ck\\u003e":1}'), '{"<k>":1}');
    assert.equal(canonicalArgs('{"é":1}'), '{"é":1}');
    assert.equal(canonicalArgs('{"a\\tb":1}'), '{"a\\tb":1}');
    assert.equal(canonicalArgs('{"q\\"":1}'), '{"q\\"":1}');
  });
  test("sorted by UTF-8 bytes, not UTF-16 units", () => {
    // U+FF61 sorts before U+1F600 in UTF-16 but after it in UTF-8.
    assert.equal(canonicalArgs('{"😀":1,"｡":2}'), '{"｡":2,"😀":1}');
  });
  test("selected paths", () => {
    const paths = ["account.id", "account.region", "label", "path/key"];
    const args = '{"account":{"id":"acct-123","ignored":"not selected"},"ignored":true,"label":"selected"}';
    assert.equal(canonicalArgs(args, paths), '{"account":{"id":"acct-123"},"label":"selected"}');
    assert.equal(canonicalArgs("{}", paths), "");
    assert.equal(canonicalArgs('{"label":null}', paths), '{"label":null}');
  });
  test("selected paths: escaped dots, parent and child both selected", () => {
    assert.equal(canonicalArgs('{"a.b":1,"a":{"b":2}}', ["a\\.b"]), '{"a.b":1}');
    assert.equal(canonicalArgs('{"a":{"b":2,"c":3}}', ["a", "a.b"]), '{"a":{"b":2,"c":3}}');
    assert.equal(
      canonicalArgs('{"z":0,"a":{"c":1,"b":{"y":2,"x":3}}}', ["a.b", "a"]),
      '{"a":{"c":1,"b":{"y":2,"x":3}}}',
    );
  });
  test("array indexes and empty components are rejected", () => {
    for (const path of ["items.0", "a..b", "", "-1"]) {
      assert.throws(() => canonicalArgs("{}", [path]), ValidationError);
    }
  });
  test("args must be an object", () => {
    assert.throws(() => canonicalArgs("[1]"), ValidationError);
  });
});

describe("unique states", () => {
  test("default mask is 245", () => assert.equal(uniqueStatesMask({ byArgs: true }), 245));
  test("custom mask", () => {
    assert.equal(uniqueStatesMask({ byState: ["available", "completed", "pending", "running", "scheduled"] }), 213);
    assert.equal(
      uniqueStatesMask({
        byState: ["available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"],
      }),
      255,
    );
  });
});
