//! What a caller passes to insert: the job (kind and args) and its options.

use crate::{json, Error};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// `river_job_state`, in declaration order (the order gives the unique-states bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Available = 0,
    Cancelled = 1,
    Completed = 2,
    Discarded = 3,
    Pending = 4,
    Retryable = 5,
    Running = 6,
    Scheduled = 7,
}

impl JobState {
    pub const ALL: [JobState; 8] = [
        JobState::Available,
        JobState::Cancelled,
        JobState::Completed,
        JobState::Discarded,
        JobState::Pending,
        JobState::Retryable,
        JobState::Running,
        JobState::Scheduled,
    ];

    pub fn as_str(self) -> &'static str {
        [
            "available",
            "cancelled",
            "completed",
            "discarded",
            "pending",
            "retryable",
            "running",
            "scheduled",
        ][self as usize]
    }

    /// Parses a state name; an unknown name is a validation error on `unique_opts.by_state`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        JobState::ALL.into_iter().find(|s| s.as_str() == name).ok_or_else(|| {
            Error::validation(
                "unique_opts.by_state",
                "unknown_state",
                format!("unknown state {name:?}"),
            )
        })
    }
}

/// Which args take part in the unique key.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ByArgs {
    #[default]
    No,
    /// All args.
    All,
    /// Only these dotted paths (River Go's `river:"unique"` fields); `\` makes the next
    /// character literal (`a\.b` is the one key `a.b`). Each component must be an object
    /// key, not an array index. An empty list is the same as `No` (spec/04-unique.md#options).
    Paths(Vec<String>),
}

impl ByArgs {
    /// Whether the args take part in the unique key: `All`, or a non-empty list of paths.
    pub fn is_set(&self) -> bool {
        match self {
            ByArgs::No => false,
            ByArgs::All => true,
            ByArgs::Paths(paths) => !paths.is_empty(),
        }
    }
}

/// Unique-job options, as River Go's `UniqueOpts`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UniqueOpts {
    pub by_args: ByArgs,
    pub by_period: Option<Duration>,
    pub by_queue: bool,
    pub by_state: Option<Vec<JobState>>,
    pub exclude_kind: bool,
}

impl UniqueOpts {
    /// Uniqueness applies when any of by_args, by_period, by_queue or by_state is set.
    pub fn is_unique(&self) -> bool {
        self.by_args.is_set() || self.by_period.is_some() || self.by_queue || self.by_state.is_some()
    }
}

/// Per-insert options; `None` means "kind default, then client default".
#[derive(Debug, Clone, Default)]
pub struct InsertOpts {
    pub queue: Option<String>,
    pub priority: Option<i64>,
    pub max_attempts: Option<i64>,
    /// Any explicit time, even in the past, inserts the job as `scheduled`.
    pub scheduled_at: Option<SystemTime>,
    pub pending: bool,
    pub tags: Option<Vec<String>>,
    /// Must be a JSON object; its top-level keys must not begin `river:` (reserved for River).
    pub metadata: Option<Value>,
    pub unique: Option<UniqueOpts>,
}

/// Job args: a JSON value encoded the way Go encodes it, or already-encoded JSON text.
#[derive(Debug, Clone)]
pub enum Args {
    Value(Value),
    /// Pre-encoded JSON; compacted and HTML-escaped like Go does for a `json.Marshaler`,
    /// otherwise kept byte for byte (so unique keys see the caller's key order).
    Raw(String),
}

impl Args {
    /// Any serde-serializable value (struct fields keep declaration order).
    pub fn from_serialize<T: serde::Serialize>(value: &T) -> Result<Self, Error> {
        serde_json::to_value(value)
            .map(Args::Value)
            .map_err(|e| Error::validation("args", "json", e.to_string()))
    }

    /// The args as Go's `encoding/json` would write them; must be a JSON object.
    pub fn encode(&self) -> Result<String, Error> {
        let encoded = match self {
            Args::Value(v) => {
                if !v.is_object() {
                    return Err(Error::validation("args", "type", "args must be a JSON object"));
                }
                json::encode(v)?
            }
            Args::Raw(raw) => json::compact(raw)?,
        };
        if !encoded.starts_with('{') {
            return Err(Error::validation("args", "type", "args must be a JSON object"));
        }
        Ok(encoded)
    }
}

/// One job to insert.
#[derive(Debug, Clone)]
pub struct InsertParams {
    pub kind: String,
    pub args: Args,
    pub opts: InsertOpts,
}

impl InsertParams {
    pub fn new(kind: impl Into<String>, args: Value) -> Self {
        InsertParams {
            kind: kind.into(),
            args: Args::Value(args),
            opts: InsertOpts::default(),
        }
    }

    pub fn with_opts(mut self, opts: InsertOpts) -> Self {
        self.opts = opts;
        self
    }
}
