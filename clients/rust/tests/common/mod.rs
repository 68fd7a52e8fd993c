//! What the integration tests share.

use riverboat::Error;

/// The field and rule of a validation error (any other error fails the test).
pub fn field_of(err: Error) -> (String, String) {
    match err {
        Error::Validation { field, rule, .. } => (field, rule),
        other => panic!("expected a validation error, got {other}"),
    }
}
