//! The client's one error type.

use std::fmt;

/// Everything that can go wrong. Validation errors name the field and the rule in
/// spec/15-errors.md's vocabulary: the option as spec/03-insert.md spells it (`queue`,
/// `unique_opts.by_state`, ...) and one of its rule codes (`length`, `range`, ...).
#[derive(Debug)]
pub enum Error {
    /// A bad option or args value, rejected before the database is touched.
    Validation {
        field: String,
        rule: String,
        message: String,
    },
    /// Args that violate the kind's contract: spec/15's code `contract_violation`, field
    /// `args`, rule `contract`. `pointer` is the JSON pointer (RFC 6901) of the offending
    /// value, `keyword` the JSON Schema keyword it broke.
    Contract {
        kind: String,
        pointer: String,
        keyword: String,
        message: String,
    },
    /// The database refused the statement.
    Database(tokio_postgres::Error),
    /// The blocking client could not start its runtime.
    Io(std::io::Error),
}

/// spec/15-errors.md's rule codes, the only words an `Error::Validation`'s `rule` holds.
pub const RULES: [&str; 16] = [
    "type",
    "range",
    "length",
    "pattern",
    "format",
    "json",
    "reserved",
    "required",
    "choice",
    "duplicate",
    "conflict",
    "path",
    "required_states",
    "unknown_state",
    "requires_dimension",
    "contract",
];

impl Error {
    pub(crate) fn validation(field: &str, rule: &str, message: impl Into<String>) -> Self {
        debug_assert!(
            RULES.contains(&rule),
            "{rule:?} is not a rule code of spec/15-errors.md"
        );
        Error::Validation {
            field: field.into(),
            rule: rule.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Validation { field, rule, message } => write!(f, "invalid {field} ({rule}): {message}"),
            Error::Contract {
                kind,
                pointer,
                keyword,
                message,
            } => {
                write!(
                    f,
                    "invalid args (contract): args of kind {kind:?} at JSON pointer {pointer:?}: {keyword}: {message}"
                )
            }
            Error::Database(e) => write!(f, "database error: {e}"),
            Error::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Database(e)
    }
}
