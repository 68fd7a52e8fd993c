//! Unique keys and unique-state masks exactly as River Go computes them (spec 04-unique).

use crate::json::{canonical_key, object_members};
use crate::{Error, JobState, UniqueOpts};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch: Go truncates
/// periods counting from its zero time, not from 1970.
const GO_ZERO_OFFSET_SECS: i128 = 62_135_596_800;

/// States that block a duplicate by default: all but cancelled and discarded.
pub const DEFAULT_UNIQUE_STATES: [JobState; 6] = [
    JobState::Available,
    JobState::Completed,
    JobState::Pending,
    JobState::Retryable,
    JobState::Running,
    JobState::Scheduled,
];

/// The bitmask stored in `unique_states` (bit i = i-th state of `river_job_state`).
pub fn state_mask(opts: &UniqueOpts) -> u8 {
    let states: &[JobState] = opts.by_state.as_deref().unwrap_or(&DEFAULT_UNIQUE_STATES);
    states.iter().fold(0u8, |m, s| m | (1 << (*s as u8)))
}

/// The string that is hashed; exposed so tests and callers can see what a key is made of.
pub fn key_string(
    kind: &str,
    encoded_args: &str,
    queue: &str,
    opts: &UniqueOpts,
    scheduled_at: Option<SystemTime>,
    now: SystemTime,
) -> Result<String, Error> {
    let mut s = String::new();
    if !opts.exclude_kind {
        s.push_str("&kind=");
        s.push_str(kind);
    }
    match &opts.by_args {
        crate::ByArgs::All => {
            s.push_str("&args=");
            s.push_str(&canonical_all(encoded_args)?);
        }
        crate::ByArgs::Paths(paths) if !paths.is_empty() => {
            s.push_str("&args=");
            s.push_str(&canonical_selected(encoded_args, paths)?);
        }
        // No, or an empty list of paths, which is the same (spec/04-unique.md#options).
        _ => {}
    }
    if let Some(period) = opts.by_period {
        s.push_str("&period=");
        s.push_str(&format_utc_seconds(period_lower_bound(
            scheduled_at.unwrap_or(now),
            period,
        )));
    }
    if opts.by_queue {
        s.push_str("&queue=");
        s.push_str(queue);
    }
    Ok(s)
}

/// SHA-256 of the key string: the 32 bytes stored in `river_job.unique_key`.
pub fn unique_key(
    kind: &str,
    encoded_args: &str,
    queue: &str,
    opts: &UniqueOpts,
    scheduled_at: Option<SystemTime>,
    now: SystemTime,
) -> Result<[u8; 32], Error> {
    let s = key_string(kind, encoded_args, queue, opts, scheduled_at, now)?;
    Ok(Sha256::digest(s.as_bytes()).into())
}

fn not_object() -> Error {
    Error::validation("args", "type", "args must encode a JSON object")
}

/// Top-level members sorted by key bytes, the first of duplicate keys winning.
fn canonical_all(encoded: &str) -> Result<String, Error> {
    let mut members = object_members(encoded).ok_or_else(not_object)?;
    let mut seen = std::collections::HashSet::new();
    members.retain(|(k, _)| seen.insert(k.clone()));
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::from("{");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        canonical_key(k, &mut out);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    Ok(out)
}

enum Node<'a> {
    Raw(&'a str),
    Object(Vec<(String, Node<'a>)>),
}

fn lookup<'a>(encoded: &'a str, path: &[String]) -> Option<&'a str> {
    let members = object_members(encoded)?;
    let (_, raw) = members.into_iter().find(|(k, _)| *k == path[0])?;
    if path.len() == 1 {
        Some(raw)
    } else {
        lookup(raw, &path[1..])
    }
}

fn set<'a>(fields: &mut Vec<(String, Node<'a>)>, path: &[String], raw: &'a str) {
    let pos = fields.iter().position(|(k, _)| *k == path[0]);
    if path.len() == 1 {
        match pos {
            Some(p) => fields[p].1 = Node::Raw(raw),
            None => fields.push((path[0].clone(), Node::Raw(raw))),
        }
        return;
    }
    let p = match pos {
        Some(p) => p,
        None => {
            fields.push((path[0].clone(), Node::Object(Vec::new())));
            fields.len() - 1
        }
    };
    // A raw value here was set by a shorter selected path (paths sort before their
    // extensions). The value at the longer path was looked up from the same encoded args, so
    // it is already inside that raw text, byte for byte: descending into it and replacing
    // it in place (spec/04-unique.md#canonical-args, step 4) would write the same bytes.
    if let Node::Object(inner) = &mut fields[p].1 {
        set(inner, &path[1..], raw);
    }
}

fn write_node(fields: &[(String, Node<'_>)], out: &mut String) {
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        canonical_key(k, out);
        out.push(':');
        match v {
            Node::Raw(raw) => out.push_str(raw),
            Node::Object(inner) => write_node(inner, out),
        }
    }
    out.push('}');
}

/// Only the selected dotted paths, set into an empty object in sorted path order; empty
/// when none is present.
fn canonical_selected(encoded: &str, paths: &[String]) -> Result<String, Error> {
    object_members(encoded).ok_or_else(not_object)?;
    let mut sorted = paths
        .iter()
        .map(|p| path_components(p))
        .collect::<Result<Vec<_>, _>>()?;
    sorted.sort_by_cached_key(|components| path_order(components));
    let mut root: Vec<(String, Node<'_>)> = Vec::new();
    for components in &sorted {
        if let Some(raw) = lookup(encoded, components) {
            set(&mut root, components, raw);
        }
    }
    if root.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::new();
    write_node(&root, &mut out);
    Ok(out)
}

/// A selected path's components (spec/04-unique.md#options): split on unescaped `.`, a `\`
/// making the next character literal (a trailing one stands for itself). Each component must
/// be a non-empty object key: River resolves a numeric component as an array index, which
/// selected args do not support.
pub(crate) fn path_components(path: &str) -> Result<Vec<String>, Error> {
    let mut components = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next().unwrap_or('\\')),
            '.' => components.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    components.push(current);
    if !components.iter().all(|c| is_object_key(c)) {
        return Err(Error::validation(
            "unique_opts.by_args",
            "path",
            format!("by_args path {path:?}: components must be non-empty object keys, not array indexes"),
        ));
    }
    Ok(components)
}

fn is_object_key(component: &str) -> bool {
    !component.is_empty() && component != "-1" && !component.bytes().all(|b| b.is_ascii_digit())
}

/// River's order of selected paths: by the components joined with `.` (UTF-8 bytes), then by
/// the components escaped and joined, which tells `a\.b` from `a.b`.
fn path_order(components: &[String]) -> (String, String) {
    let escaped: Vec<String> = components
        .iter()
        .map(|c| c.replace('\\', "\\\\").replace('.', "\\."))
        .collect();
    (components.join("."), escaped.join("."))
}

/// Go's `time.Truncate(period)`: counts from 0001-01-01T00:00:00Z; result in Unix seconds.
pub fn period_lower_bound(t: SystemTime, period: Duration) -> i64 {
    let unix_nanos: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    let since_zero = unix_nanos + GO_ZERO_OFFSET_SECS * 1_000_000_000;
    let p = period.as_nanos() as i128;
    let truncated = since_zero - since_zero.rem_euclid(p);
    (truncated.div_euclid(1_000_000_000) - GO_ZERO_OFFSET_SECS) as i64
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds, in UTC.
pub fn format_utc_seconds(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day count from 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
