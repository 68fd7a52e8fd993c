/**
 * riverboat for TypeScript: a thin, insert-only client for River's Postgres job table on
 * node-postgres. Jobs it inserts are indistinguishable from River Go v0.51.2's: the same
 * columns, the same args bytes, the same unique keys, the same insert notification.
 */

export { Client } from "./client";
export type { ClientConfig, PoolLike, Queryable } from "./client";
export { Contract } from "./contract";
export type { KindContract } from "./contract";
export { ArgsContractError, RiverboatError, UnknownKindError, ValidationError } from "./errors";
export { compactGo, encodeGo, parseJson, RawJson, rawJson } from "./gojson";
export { encodeArgs } from "./insert";
export type { InsertManyParams, JobArgs, KindArgs } from "./insert";
export type { InsertResult, Job } from "./job";
export type { InsertOpts } from "./options";
export type { TimeInput } from "./time";
export { canonicalArgs, DEFAULT_UNIQUE_STATES, JOB_STATES, uniqueKey, uniqueStatesMask } from "./unique";
export type { JobState, UniqueKeyInput, UniqueOpts } from "./unique";
