//! Job-args contracts (spec/05-args-contract.md): each kind's args JSON Schema and insert defaults.

use crate::Error;
use serde_json::Value;
use std::collections::HashMap;

/// Insert defaults of a kind, from the job-args contract.
#[derive(Debug, Clone, Default)]
pub struct KindDefaults {
    pub queue: Option<String>,
    pub priority: Option<i64>,
    pub max_attempts: Option<i64>,
    pub tags: Option<Vec<String>>,
}

struct KindContract {
    validator: jsonschema::Validator,
    defaults: KindDefaults,
}

/// The contracts a client enforces, by kind.
#[derive(Default)]
pub(crate) struct Contracts(HashMap<String, KindContract>);

impl Contracts {
    /// Loads a document `{"kinds": {kind: {"args": schema, "insert_opts": {...}}}}`.
    pub(crate) fn load(&mut self, document: &Value) -> Result<(), Error> {
        let kinds = document
            .get("kinds")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::validation("contract", "type", "contract needs a \"kinds\" object"))?;
        for (kind, entry) in kinds {
            let schema = entry.get("args").unwrap_or(entry);
            let opts = entry.get("insert_opts");
            let defaults = KindDefaults {
                queue: opts
                    .and_then(|o| o.get("queue"))
                    .and_then(Value::as_str)
                    .map(String::from),
                priority: opts.and_then(|o| o.get("priority")).and_then(Value::as_i64),
                max_attempts: opts.and_then(|o| o.get("max_attempts")).and_then(Value::as_i64),
                tags: opts
                    .and_then(|o| o.get("tags"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect()),
            };
            self.set(kind, schema, defaults)?;
        }
        Ok(())
    }

    /// Registers (or replaces) one kind's args JSON Schema (draft 2020-12) and defaults.
    pub(crate) fn set(&mut self, kind: &str, schema: &Value, defaults: KindDefaults) -> Result<(), Error> {
        let validator =
            jsonschema::draft202012::new(schema).map_err(|e| Error::validation("contract", "schema", e.to_string()))?;
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
            let schema_path = err.schema_path.as_str().to_string();
            return Err(Error::Contract {
                kind: kind.to_string(),
                pointer: err.instance_path.as_str().to_string(),
                rule: schema_path.rsplit('/').next().unwrap_or_default().to_string(),
                message: err.to_string(),
            });
        }
        Ok(Some(&contract.defaults))
    }
}
