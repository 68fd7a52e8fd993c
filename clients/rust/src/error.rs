//! The client's one error type.

use std::fmt;

/// Everything that can go wrong; validation errors name the field and the rule.
#[derive(Debug)]
pub enum Error {
    /// A bad option or args value, rejected before the database is touched.
    Validation {
        field: String,
        rule: String,
        message: String,
    },
    /// Args that violate the kind's contract.
    Contract {
        kind: String,
        pointer: String,
        rule: String,
        message: String,
    },
    /// The database refused the statement.
    Database(tokio_postgres::Error),
    /// The blocking client could not start its runtime.
    Io(std::io::Error),
}

impl Error {
    pub(crate) fn validation(field: &str, rule: &str, message: impl Into<String>) -> Self {
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
                rule,
                message,
            } => {
                write!(
                    f,
                    "args violate the contract of {kind} at {pointer:?} ({rule}): {message}"
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
