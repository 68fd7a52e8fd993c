/**
 * SQL statements, one per file in sql/ (shipped in the package), loaded by name. As in
 * the rest of riverboat, parameters are named `%(name)s` and a `TEMPLATE: schema` comment
 * marks where the quoted schema goes; parameters become node-postgres' `$1`, `$2`, ...
 * in first-use order.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ValidationError } from "./errors";

export interface Query {
  text: string;
  /** Parameter names in `$n` order. */
  names: string[];
}

// River's rule; the bound keeps "<schema>.river_leadership" within Postgres' 63-byte channel names.
const SCHEMA_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SCHEMA_MAX_LENGTH = 46;

export function checkSchema(schema: unknown): string {
  if (typeof schema !== "string" || !SCHEMA_PATTERN.test(schema)) {
    throw new ValidationError("schema", "pattern", "must match ^[a-zA-Z_][a-zA-Z0-9_]*$", schema);
  }
  if (schema.length > SCHEMA_MAX_LENGTH) {
    throw new ValidationError("schema", "length", `must be at most ${SCHEMA_MAX_LENGTH} characters`, schema);
  }
  return schema;
}

function quoteIdentifier(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/** The statement in sql/<name>.sql, for tables in `schema` (null: the search path). */
export function loadQuery(name: string, schema: string | null): Query {
  const raw = readFileSync(join(__dirname, "sql", `${name}.sql`), "utf8");
  const prefix = schema === null ? "" : `${quoteIdentifier(schema)}.`;
  const names: string[] = [];
  const text = raw.replaceAll("/* TEMPLATE: schema */", prefix).replace(/%\((\w+)\)s/g, (_, param: string) => {
    let index = names.indexOf(param);
    if (index < 0) index = names.push(param) - 1;
    return `$${index + 1}`;
  });
  return { text, names };
}

/** The positional values of a query from named ones. */
export function queryValues(query: Query, params: Record<string, unknown>): unknown[] {
  return query.names.map((name) => {
    if (!(name in params)) throw new Error(`query parameter ${name} is missing`);
    return params[name];
  });
}
