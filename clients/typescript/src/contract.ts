/**
 * The job-args contract (spec/05-args-contract.md): a JSON document mapping each kind to
 * the JSON Schema of its args and its insert defaults, shared by services in any
 * language. Its meta-schema is schema/json/job-args-contract.schema.json, shipped in the
 * package. Schemas are checked with Ajv.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import Ajv2019 from "ajv/dist/2019";
import Ajv2020 from "ajv/dist/2020";
import draft06MetaSchema from "ajv/dist/refs/json-schema-draft-06.json";

import { ArgsContractError, ValidationError } from "./errors";
import { checkInsertOpts, checkKind, InsertOpts } from "./options";
import { JobState, UniqueOpts } from "./unique";

/** One kind's entry: the JSON Schema of its args and, optionally, its insert defaults. */
export interface KindContract {
  argsSchema: Record<string, unknown> | boolean;
  insertOpts?: InsertOpts;
}

type Draft = "2020-12" | "2019-09" | "draft-07";

// `$schema` URIs Ajv can validate with, with or without the trailing `#`.
const DRAFTS: Record<string, Draft> = {
  "https://json-schema.org/draft/2020-12/schema": "2020-12",
  "https://json-schema.org/draft/2019-09/schema": "2019-09",
  "http://json-schema.org/draft-07/schema": "draft-07",
  "http://json-schema.org/draft-06/schema": "draft-07",
};

function newAjv(draft: Draft): Ajv {
  // Like Python's jsonschema: unknown keywords are ignored and `format` only annotates.
  // addUsedSchema: false lets two kinds' schemas share an `$id`.
  const options = { strict: false, validateFormats: false, allErrors: false, addUsedSchema: false };
  switch (draft) {
    case "2020-12":
      return new Ajv2020(options);
    case "2019-09":
      return new Ajv2019(options);
    case "draft-07": {
      const ajv = new Ajv(options);
      ajv.addMetaSchema(draft06MetaSchema);
      return ajv;
    }
  }
}

function pointerText(pointer: string): string {
  return pointer === "" ? "''" : `'${pointer}'`;
}

function describe(error: ErrorObject): string {
  return error.message ?? error.keyword;
}

let metaValidator: ValidateFunction | undefined;

/** The contract document's own JSON Schema, compiled once. */
function metaSchemaValidator(): ValidateFunction {
  if (metaValidator === undefined) {
    const text = readFileSync(join(__dirname, "schema", "job-args-contract.schema.json"), "utf8");
    metaValidator = newAjv("2020-12").compile(JSON.parse(text) as object);
  }
  return metaValidator;
}

/** A contract document's snake_case insert_opts as InsertOpts. */
function insertOptsFromJson(doc: Record<string, unknown>): InsertOpts {
  const unique = doc.unique_opts as Record<string, unknown> | undefined;
  let uniqueOpts: UniqueOpts | undefined;
  if (unique !== undefined) {
    uniqueOpts = {
      byArgs: unique.by_args as boolean | string[] | undefined,
      byPeriod: unique.by_period_seconds === undefined ? undefined : (unique.by_period_seconds as number) * 1000,
      byQueue: unique.by_queue as boolean | undefined,
      byState: unique.by_state as JobState[] | undefined,
      excludeKind: unique.exclude_kind as boolean | undefined,
    };
  }
  return {
    queue: doc.queue as string | undefined,
    priority: doc.priority as number | undefined,
    maxAttempts: doc.max_attempts as number | undefined,
    scheduledAt: doc.scheduled_at as string | undefined,
    pending: doc.pending as boolean | undefined,
    tags: doc.tags as string[] | undefined,
    metadata: doc.metadata as Record<string, unknown> | undefined,
    uniqueOpts,
  };
}

function withoutUndefined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** InsertOpts in a contract document's snake_case form. */
function insertOptsToJson(opts: InsertOpts): Record<string, unknown> {
  const u = opts.uniqueOpts;
  return withoutUndefined({
    queue: opts.queue,
    priority: opts.priority,
    max_attempts: opts.maxAttempts,
    scheduled_at: opts.scheduledAt instanceof Date ? opts.scheduledAt.toISOString() : opts.scheduledAt,
    pending: opts.pending,
    tags: opts.tags,
    metadata: opts.metadata,
    unique_opts:
      u === undefined
        ? undefined
        : withoutUndefined({
            by_args: u.byArgs,
            by_period_seconds: u.byPeriod === undefined ? undefined : u.byPeriod / 1000,
            by_queue: u.byQueue,
            by_state: u.byState,
            exclude_kind: u.excludeKind,
          }),
  });
}

/** A job-args contract: load or build it, then give it to a Client to check args on insert. */
export class Contract {
  readonly kinds: ReadonlyMap<string, KindContract>;
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(kinds: Map<string, KindContract>) {
    this.kinds = kinds;
    const ajvs = new Map<Draft, Ajv>();
    for (const [kind, entry] of kinds) {
      checkKind(kind);
      const schema = entry.argsSchema;
      const uri = typeof schema === "object" && schema !== null ? schema.$schema : undefined;
      const draft = uri === undefined ? "2020-12" : DRAFTS[String(uri).replace(/#$/, "")];
      if (draft === undefined) {
        throw new ValidationError(
          `contract.kinds.${kind}.argsSchema`,
          "choice",
          `$schema ${JSON.stringify(uri)} is not supported`,
        );
      }
      if (!ajvs.has(draft)) ajvs.set(draft, newAjv(draft));
      try {
        this.validators.set(kind, ajvs.get(draft)!.compile(schema));
      } catch (err) {
        throw new ValidationError(
          `contract.kinds.${kind}.argsSchema`,
          "format",
          `is not a valid JSON Schema: ${(err as Error).message}`,
        );
      }
      if (entry.insertOpts !== undefined) checkInsertOpts(entry.insertOpts);
    }
  }

  /** A contract from kinds given in code: `{ship_order: {argsSchema: {...}, insertOpts: {...}}}`. */
  static fromKinds(kinds: Record<string, KindContract> | Map<string, KindContract>): Contract {
    return new Contract(new Map(kinds instanceof Map ? kinds : Object.entries(kinds)));
  }

  /** A contract from its JSON document (text or parsed), checked against the meta-schema. */
  static fromJson(doc: unknown): Contract {
    let value = doc;
    if (typeof doc === "string") {
      try {
        value = JSON.parse(doc);
      } catch (err) {
        throw new ValidationError("contract", "json", `is not JSON text: ${(err as Error).message}`);
      }
    }
    const validate = metaSchemaValidator();
    if (!validate(value)) {
      const error = validate.errors![0]!;
      throw new ValidationError(
        "contract",
        "contract",
        `at JSON pointer ${pointerText(error.instancePath)}: ${error.keyword}: ${describe(error)}`,
      );
    }
    const kinds = (value as { kinds: Record<string, Record<string, unknown>> }).kinds;
    return Contract.fromKinds(
      Object.fromEntries(
        Object.entries(kinds).map(([kind, entry]) => [
          kind,
          {
            argsSchema: entry.args_schema as Record<string, unknown> | boolean,
            insertOpts:
              entry.insert_opts === undefined
                ? undefined
                : insertOptsFromJson(entry.insert_opts as Record<string, unknown>),
          },
        ]),
      ),
    );
  }

  /** The contract document; kinds in sorted order so that exports diff cleanly. */
  toJson(): { riverboat_contract: 1; kinds: Record<string, unknown> } {
    const kinds: Record<string, unknown> = {};
    for (const kind of [...this.kinds.keys()].sort()) {
      const entry = this.kinds.get(kind)!;
      kinds[kind] = withoutUndefined({
        args_schema: entry.argsSchema,
        insert_opts: entry.insertOpts === undefined ? undefined : insertOptsToJson(entry.insertOpts),
      });
    }
    return { riverboat_contract: 1, kinds };
  }

  /** The kind's insert defaults from the contract, if it has any. */
  insertOpts(kind: string): InsertOpts | undefined {
    return this.kinds.get(kind)?.insertOpts;
  }

  /** Whether the contract lists the kind. */
  has(kind: string): boolean {
    return this.validators.has(kind);
  }

  /**
   * Raises ArgsContractError unless the args fit the kind's schema. A contract covers
   * only the kinds it lists; others pass unchecked (spec/05-args-contract.md#check). The
   * args are decoded from exactly the text that will be stored; JSON Schema sees numbers,
   * so integers beyond 2^53 are compared as doubles.
   */
  check(kind: string, encodedArgs: string): void {
    const validate = this.validators.get(kind);
    if (validate === undefined) return;
    if (!validate(JSON.parse(encodedArgs))) {
      const error = validate.errors![0]!;
      throw new ArgsContractError(kind, error.instancePath, error.keyword, describe(error));
    }
  }
}
