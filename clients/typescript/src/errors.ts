/**
 * Errors the client raises itself. Database failures are node-postgres' own errors,
 * passed through unchanged (their `code` is the SQLSTATE).
 */

/** Base class of every error this package raises. */
export class RiverboatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A bad value, rejected before anything is sent to the database. `field` names the
 * option or args path (`queue`, `uniqueOpts.byState`, `args.items[3]`), `rule` is one of
 * spec/15-errors.md's rule codes, shared by every riverboat client (`pattern`, `range`,
 * `type`, `json`, `required_states`, ...).
 */
export class ValidationError extends RiverboatError {
  readonly field: string;
  readonly rule: string;
  readonly value: unknown;

  constructor(field: string, rule: string, detail: string, value?: unknown) {
    super(`invalid ${field} (${rule}): ${detail}`);
    this.field = field;
    this.rule = rule;
    this.value = value;
  }
}

/** The client has a job-args contract and the job's kind is not in it. */
export class UnknownKindError extends ValidationError {
  readonly kind: string;

  constructor(kind: string) {
    super("kind", "choice", "is not in the client's job-args contract", kind);
    this.message = `kind ${JSON.stringify(kind)} is not in the client's job-args contract`;
    this.kind = kind;
  }
}

/**
 * Args that break their kind's JSON Schema: rule `contract` on `args`. `pointer` is the
 * JSON pointer (RFC 6901) of the offending value, `keyword` the schema keyword it broke.
 */
export class ArgsContractError extends ValidationError {
  readonly kind: string;
  readonly pointer: string;
  readonly keyword: string;

  constructor(kind: string, pointer: string, keyword: string, detail: string) {
    super("args", "contract", detail);
    const where = `args of kind ${JSON.stringify(kind)} at JSON pointer ${JSON.stringify(pointer)}`;
    this.message = `${where}: ${keyword}: ${detail}`;
    this.kind = kind;
    this.pointer = pointer;
    this.keyword = keyword;
  }
}
