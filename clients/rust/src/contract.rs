//! Job-args contracts (spec/05-args-contract.md): each kind's args JSON Schema and insert defaults.

use crate::{time, ByArgs, Error, JobState, UniqueOpts};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Insert defaults of a kind, from the job-args contract's `insert_opts`.
#[derive(Debug, Clone, Default)]
pub struct KindDefaults {
    pub queue: Option<String>,
    pub priority: Option<i64>,
    pub max_attempts: Option<i64>,
    pub scheduled_at: Option<SystemTime>,
    pub pending: bool,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Value>,
    pub unique: Option<UniqueOpts>,
}

struct KindContract {
    validator: jsonschema::Validator,
    defaults: KindDefaults,
}

/// The contract document's own schema (a build-time copy of the repository's).
const META_SCHEMA: &str = include_str!("../../../schema/json/job-args-contract.schema.json");

/// The contracts a client enforces, by kind.
#[derive(Default)]
pub(crate) struct Contracts(HashMap<String, KindContract>);

impl Contracts {
    /// Loads a contract document (spec/05-args-contract.md#document), checked against its
    /// meta-schema; a violation names the JSON pointer and the rule.
    pub(crate) fn load(&mut self, document: &Value) -> Result<(), Error> {
        let meta: Value = serde_json::from_str(META_SCHEMA).expect("the meta-schema is JSON");
        let validator = jsonschema::draft202012::new(&meta).expect("the meta-schema is a schema");
        if let Some(err) = validator.iter_errors(document).next() {
            return Err(Error::validation(
                "contract",
                "contract",
                format!(
                    "contract at JSON pointer {:?}: {}: {err}",
                    err.instance_path.as_str(),
                    last_segment(err.schema_path.as_str()),
                ),
            ));
        }
        let kinds = document["kinds"].as_object().expect("checked by the meta-schema");
        for (kind, entry) in kinds {
            let defaults = match entry.get("insert_opts") {
                Some(opts) => kind_defaults(opts)?,
                None => KindDefaults::default(),
            };
            self.set(kind, &entry["args_schema"], defaults)?;
        }
        Ok(())
    }

    /// Registers (or replaces) one kind's args JSON Schema (draft 2020-12) and defaults.
    pub(crate) fn set(&mut self, kind: &str, schema: &Value, defaults: KindDefaults) -> Result<(), Error> {
        let validator = jsonschema::draft202012::new(schema).map_err(|e| {
            Error::validation(
                &format!("contract.kinds[{kind:?}].args_schema"),
                "format",
                format!("not a valid JSON Schema: {e}"),
            )
        })?;
        self.0.insert(kind.to_string(), KindContract { validator, defaults });
        Ok(())
    }

    /// Checks encoded args against the kind's contract, if it has one, and returns the
    /// kind's insert defaults.
    pub(crate) fn check(&self, kind: &str, encoded_args: &str) -> Result<Option<&KindDefaults>, Error> {
        let Some(contract) = self.0.get(kind) else {
            return Ok(None);
        };
        let instance: Value =
            serde_json::from_str(encoded_args).map_err(|e| Error::validation("args", "json", e.to_string()))?;
        if let Some(err) = contract.validator.iter_errors(&instance).next() {
            return Err(Error::Contract {
                kind: kind.to_string(),
                pointer: err.instance_path.as_str().to_string(),
                keyword: last_segment(err.schema_path.as_str()).to_string(),
                message: err.to_string(),
            });
        }
        Ok(Some(&contract.defaults))
    }
}

/// The JSON Schema keyword a schema path ends with.
fn last_segment(schema_path: &str) -> &str {
    schema_path.rsplit('/').next().unwrap_or_default()
}

/// A contract's `insert_opts`, already checked by the meta-schema; a `null` member is unset
/// (spec/03-insert.md#json-options).
fn kind_defaults(opts: &Value) -> Result<KindDefaults, Error> {
    let member = |name: &str| opts.get(name).filter(|v| !v.is_null());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    Ok(KindDefaults {
        queue: member("queue").and_then(Value::as_str).map(String::from),
        priority: member("priority").and_then(Value::as_i64),
        max_attempts: member("max_attempts").and_then(Value::as_i64),
        scheduled_at: member("scheduled_at")
            .and_then(Value::as_str)
            .map(time::parse_rfc3339)
            .transpose()?,
        pending: member("pending").and_then(Value::as_bool).unwrap_or(false),
        tags: member("tags").map(strings),
        metadata: member("metadata").cloned(),
        unique: member("unique_opts").map(unique_opts).transpose()?,
    })
}

fn unique_opts(u: &Value) -> Result<UniqueOpts, Error> {
    let member = |name: &str| u.get(name).filter(|v| !v.is_null());
    let flag = |name: &str| member(name).and_then(Value::as_bool).unwrap_or(false);
    let by_args = match member("by_args") {
        Some(Value::Bool(true)) => ByArgs::All,
        Some(Value::Array(paths)) => ByArgs::Paths(paths.iter().filter_map(|p| p.as_str().map(String::from)).collect()),
        _ => ByArgs::No,
    };
    let by_state = match member("by_state").and_then(Value::as_array) {
        Some(states) => Some(
            states
                .iter()
                .map(|s| JobState::parse(s.as_str().unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(UniqueOpts {
        by_args,
        by_period: member("by_period_seconds")
            .and_then(Value::as_u64)
            .map(Duration::from_secs),
        by_queue: flag("by_queue"),
        by_state,
        exclude_kind: flag("exclude_kind"),
    })
}
