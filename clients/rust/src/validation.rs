//! The rules an insert's values must follow (spec/03-insert.md#parameters,
//! spec/04-unique.md#options), checked before the database is touched.

use crate::{unique, ByArgs, Error, JobState, UniqueOpts};
use serde_json::Value;
use std::time::Duration;

/// `river_job`'s CHECK on kind: 1 to 127 characters.
const KIND_MAX_LENGTH: usize = 127;

/// Metadata keys River keeps for itself (spec/03-insert.md#parameters).
const RESERVED_METADATA_PREFIX: &str = "river:";

pub(crate) fn validate_kind(kind: &str) -> Result<(), Error> {
    let length = kind.chars().count();
    if length == 0 || length > KIND_MAX_LENGTH {
        return Err(Error::validation(
            "kind",
            "length",
            format!("kind must be 1 to {KIND_MAX_LENGTH} characters, got {length}"),
        ));
    }
    Ok(())
}

/// River's queue rule: at most 64 characters of lowercase alphanumerics, with single
/// `_`, `-` or `|` separators between them. This is spec/03-insert.md#queue-names'
/// `^[a-z0-9]+(?:[_|-][a-z0-9]+)*$`, checked by hand in linear time.
pub fn validate_queue(queue: &str) -> Result<(), Error> {
    if queue.is_empty() || queue.len() > 64 {
        return Err(Error::validation("queue", "length", "queue must be 1 to 64 characters"));
    }
    let ok = queue
        .split(['_', '-', '|'])
        .all(|seg| !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if !ok {
        return Err(Error::validation(
            "queue",
            "pattern",
            format!("queue {queue:?} must be lowercase alphanumerics with single _ or - separators"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_priority(priority: i64) -> Result<(), Error> {
    if !(1..=4).contains(&priority) {
        return Err(Error::validation("priority", "range", "priority must be 1 to 4"));
    }
    Ok(())
}

/// At least 1; at most what the `smallint` column holds.
pub(crate) fn validate_max_attempts(max_attempts: i64) -> Result<(), Error> {
    if !(1..=i64::from(i16::MAX)).contains(&max_attempts) {
        return Err(Error::validation(
            "max_attempts",
            "range",
            "max_attempts must be at least 1",
        ));
    }
    Ok(())
}

/// River's tag rule: 3 to 255 ASCII word characters, inner `-` allowed, no commas.
pub fn validate_tag(tag: &str) -> Result<(), Error> {
    if tag.len() < 3 || tag.len() > 255 {
        return Err(Error::validation(
            "tags",
            "length",
            format!("tag {tag:?} must be 3 to 255 characters"),
        ));
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = tag.as_bytes();
    let ok = word(b[0]) && word(b[b.len() - 1]) && b.iter().all(|&c| word(c) || c == b'-');
    if !ok {
        return Err(Error::validation(
            "tags",
            "pattern",
            format!("tag {tag:?} must be word characters with inner hyphens"),
        ));
    }
    Ok(())
}

/// Refuses encoded JSON holding U+0000 in any string or key, which PostgreSQL's jsonb cannot
/// store (spec/03-insert.md#nul). Encoded JSON writes it only as the escape `\u0000`, found
/// by walking each string's escapes.
pub(crate) fn reject_nul(field: &str, encoded: &str) -> Result<(), Error> {
    let bytes = encoded.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if bytes[i + 1..].starts_with(b"u0000") {
                    return Err(Error::validation(
                        field,
                        "json",
                        format!("{field} must not hold U+0000, which PostgreSQL's jsonb cannot store"),
                    ));
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// A JSON object whose top-level keys do not begin `river:`.
pub(crate) fn validate_metadata(metadata: &Value) -> Result<(), Error> {
    let Value::Object(members) = metadata else {
        return Err(Error::validation("metadata", "type", "metadata must be a JSON object"));
    };
    if let Some(key) = members.keys().find(|k| k.starts_with(RESERVED_METADATA_PREFIX)) {
        return Err(Error::validation(
            "metadata",
            "reserved",
            format!("metadata key {key:?}: keys beginning {RESERVED_METADATA_PREFIX:?} are reserved for River"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_unique(u: &UniqueOpts) -> Result<(), Error> {
    if let ByArgs::Paths(paths) = &u.by_args {
        for path in paths {
            unique::path_components(path)?;
        }
    }
    // An empty list of paths is no by_args, so it does not count here (spec/04-unique.md#options).
    if u.exclude_kind && !u.by_args.is_set() && u.by_period.is_none() && !u.by_queue {
        return Err(Error::validation(
            "unique_opts.exclude_kind",
            "requires_dimension",
            "exclude_kind requires by_args, by_period or by_queue",
        ));
    }
    if let Some(p) = u.by_period {
        // Whole seconds, so the period bound does not depend on clock precision
        // (spec/04-unique.md#options).
        if p < Duration::from_secs(1) || p.subsec_nanos() != 0 {
            return Err(Error::validation(
                "unique_opts.by_period",
                "range",
                "by_period must be a whole number of seconds, at least 1",
            ));
        }
    }
    if let Some(states) = &u.by_state {
        for required in [
            JobState::Available,
            JobState::Pending,
            JobState::Running,
            JobState::Scheduled,
        ] {
            if !states.contains(&required) {
                return Err(Error::validation(
                    "unique_opts.by_state",
                    "required_states",
                    format!("by_state must include {}", required.as_str()),
                ));
            }
        }
    }
    Ok(())
}
