//! riverboat for Rust: a thin, insert-only client for River's Postgres job table.
//!
//! Jobs inserted here are indistinguishable from jobs inserted by River Go v0.51.2: the same
//! columns, the same args bytes, the same unique keys, the same insert notification.

pub mod blocking;
pub mod json;
pub mod time;
pub mod unique;

use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};
use tokio_postgres::GenericClient;

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

    /// Parses a state name; an unknown name is a validation error on `unique.by_state`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        JobState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| Error::validation("unique.by_state", "unknown_state", format!("unknown state {name:?}")))
    }
}

/// Which args take part in the unique key.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ByArgs {
    #[default]
    No,
    /// All args.
    All,
    /// Only these dotted paths (River Go's `river:"unique"` fields). An empty list is the
    /// same as `No` (spec/04-unique.md#options).
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
            .map_err(|e| Error::validation("args", "serialize", e.to_string()))
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

/// A `river_job` row as the database returned it. JSON columns are kept as the text
/// Postgres returned, so big integers stay exact.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub args: String,
    pub attempt: i16,
    pub attempted_at: Option<SystemTime>,
    pub attempted_by: Vec<String>,
    pub created_at: SystemTime,
    pub errors: String,
    pub finalized_at: Option<SystemTime>,
    pub kind: String,
    pub max_attempts: i16,
    pub metadata: String,
    pub priority: i16,
    pub queue: String,
    pub scheduled_at: SystemTime,
    pub state: String,
    pub tags: Vec<String>,
    pub unique_key: Option<Vec<u8>>,
    /// Unique-states bitmask, or None when the column is NULL.
    pub unique_states: Option<u8>,
}

/// The inserted row, or the live duplicate with `unique_skipped_as_duplicate` set.
#[derive(Debug, Clone)]
pub struct InsertResult {
    pub job: Job,
    pub unique_skipped_as_duplicate: bool,
}

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

/// Client configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Schema holding River's tables; None uses the connection's search path.
    pub schema: Option<String>,
    /// Client-wide defaults (below per-insert options and kind defaults).
    pub queue: Option<String>,
    pub priority: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// An insert-only client. It holds no connection: pass a `tokio_postgres::Client` (the
/// client opens and commits its own transaction) or the caller's `Transaction`.
pub struct Client {
    config: Config,
    contracts: HashMap<String, KindContract>,
    insert_sql: String,
}

/// A job validated and resolved to column values.
struct Row {
    kind: String,
    args: String,
    max_attempts: i16,
    metadata: String,
    priority: i16,
    queue: String,
    scheduled_at: SystemTime,
    state: &'static str,
    tags: String,
    unique_key: Vec<u8>,
    unique_states: i32,
}

/// Metadata keys River keeps for itself (spec/03-insert.md#parameters).
const RESERVED_METADATA_PREFIX: &str = "river:";

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Client {
    pub fn new(config: Config) -> Self {
        let prefix = config
            .schema
            .as_deref()
            .map(|s| format!("{}.", quote_ident(s)))
            .unwrap_or_default();
        let insert_sql = include_str!("sql/job_insert_many.sql").replace("/* TEMPLATE: schema */", &prefix);
        Client {
            config,
            contracts: HashMap::new(),
            insert_sql,
        }
    }

    /// Loads a job-args contract document: `{"kinds": {kind: {"args": schema, "insert_opts": {...}}}}`.
    pub fn load_contract(&mut self, document: &Value) -> Result<(), Error> {
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
            self.set_kind_contract(kind, schema, defaults)?;
        }
        Ok(())
    }

    /// Registers (or replaces) one kind's args JSON Schema (draft 2020-12) and defaults.
    pub fn set_kind_contract(&mut self, kind: &str, schema: &Value, defaults: KindDefaults) -> Result<(), Error> {
        let validator =
            jsonschema::draft202012::new(schema).map_err(|e| Error::validation("contract", "schema", e.to_string()))?;
        self.contracts
            .insert(kind.to_string(), KindContract { validator, defaults });
        Ok(())
    }

    /// Inserts one job in a transaction of its own.
    pub async fn insert(&self, conn: &mut tokio_postgres::Client, params: InsertParams) -> Result<InsertResult, Error> {
        let mut results = self.insert_many(conn, vec![params]).await?;
        Ok(results.remove(0))
    }

    /// Inserts one job in the caller's transaction; visible (and announced) on its commit.
    pub async fn insert_tx(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        params: InsertParams,
    ) -> Result<InsertResult, Error> {
        let mut results = self.insert_many_tx(tx, vec![params]).await?;
        Ok(results.remove(0))
    }

    /// Inserts a batch atomically in a transaction of its own; results in input order.
    pub async fn insert_many(
        &self,
        conn: &mut tokio_postgres::Client,
        params: Vec<InsertParams>,
    ) -> Result<Vec<InsertResult>, Error> {
        let rows = self.prepare(&params, SystemTime::now())?;
        let tx = conn.transaction().await?;
        let results = self.write(&tx, rows, SystemTime::now()).await?;
        tx.commit().await?;
        Ok(results)
    }

    /// Inserts a batch in the caller's transaction; results in input order.
    pub async fn insert_many_tx(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        params: Vec<InsertParams>,
    ) -> Result<Vec<InsertResult>, Error> {
        let now = SystemTime::now();
        let rows = self.prepare(&params, now)?;
        self.write(tx, rows, now).await
    }

    /// Validates one job (options, args, contract) without touching the database.
    pub fn check(&self, params: &InsertParams) -> Result<(), Error> {
        self.resolve(params, SystemTime::now()).map(|_| ())
    }

    /// Validates and resolves every job; any failure rejects the whole batch.
    fn prepare(&self, params: &[InsertParams], now: SystemTime) -> Result<Vec<Row>, Error> {
        params.iter().map(|p| self.resolve(p, now)).collect()
    }

    fn resolve(&self, p: &InsertParams, now: SystemTime) -> Result<Row, Error> {
        if p.kind.is_empty() || p.kind.chars().count() > 255 {
            return Err(Error::validation("kind", "length", "kind must be 1 to 255 characters"));
        }
        let args = p.args.encode()?;
        let contract = self.contracts.get(&p.kind);
        if let Some(c) = contract {
            check_contract(&p.kind, &c.validator, &args)?;
        }
        let defaults = contract.map(|c| &c.defaults);
        let o = &p.opts;
        let queue = o
            .queue
            .clone()
            .or_else(|| defaults.and_then(|d| d.queue.clone()))
            .or_else(|| self.config.queue.clone())
            .unwrap_or_else(|| "default".into());
        validate_queue(&queue)?;
        let priority = o
            .priority
            .or(defaults.and_then(|d| d.priority))
            .or(self.config.priority)
            .unwrap_or(1);
        if !(1..=4).contains(&priority) {
            return Err(Error::validation("priority", "range", "priority must be 1 to 4"));
        }
        let max_attempts = o
            .max_attempts
            .or(defaults.and_then(|d| d.max_attempts))
            .or(self.config.max_attempts)
            .unwrap_or(25);
        if !(1..=i64::from(i16::MAX)).contains(&max_attempts) {
            return Err(Error::validation(
                "max_attempts",
                "range",
                "max_attempts must be at least 1",
            ));
        }
        let tags = o
            .tags
            .clone()
            .or_else(|| defaults.and_then(|d| d.tags.clone()))
            .unwrap_or_default();
        for tag in &tags {
            validate_tag(tag)?;
        }
        let metadata = match &o.metadata {
            None => "{}".to_string(),
            Some(m @ Value::Object(members)) => {
                if let Some(key) = members.keys().find(|k| k.starts_with(RESERVED_METADATA_PREFIX)) {
                    return Err(Error::validation(
                        "metadata",
                        "reserved",
                        format!(
                            "metadata key {key:?}: keys beginning {RESERVED_METADATA_PREFIX:?} are reserved for River"
                        ),
                    ));
                }
                json::encode(m).map_err(|_| Error::validation("metadata", "json", "metadata is not encodable"))?
            }
            Some(_) => return Err(Error::validation("metadata", "type", "metadata must be a JSON object")),
        };
        let state = if o.pending {
            "pending"
        } else if o.scheduled_at.is_some() {
            "scheduled"
        } else {
            "available"
        };
        if let Some(u) = &o.unique {
            validate_unique(u)?;
        }
        let (unique_key, unique_states) = match o.unique.as_ref().filter(|u| u.is_unique()) {
            None => (Vec::new(), 0),
            Some(u) => {
                let key = unique::unique_key(&p.kind, &args, &queue, u, o.scheduled_at, now)?;
                (key.to_vec(), i32::from(unique::state_mask(u)))
            }
        };
        Ok(Row {
            kind: p.kind.clone(),
            args,
            max_attempts: max_attempts as i16,
            metadata,
            priority: priority as i16,
            queue,
            scheduled_at: o.scheduled_at.unwrap_or(now),
            state,
            tags: tags.join(","),
            unique_key,
            unique_states,
        })
    }

    async fn write<C: GenericClient>(
        &self,
        conn: &C,
        rows: Vec<Row>,
        now: SystemTime,
    ) -> Result<Vec<InsertResult>, Error> {
        // Postgres refuses one key twice in an ON CONFLICT statement: send each key once and
        // answer later duplicates with the first one's row.
        let mut first_by_key: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut source = Vec::with_capacity(rows.len());
        let mut sent: Vec<&Row> = Vec::new();
        for row in &rows {
            if !row.unique_key.is_empty() {
                if let Some(&i) = first_by_key.get(&row.unique_key) {
                    source.push((i, true));
                    continue;
                }
                first_by_key.insert(row.unique_key.clone(), sent.len());
            }
            source.push((sent.len(), false));
            sent.push(row);
        }
        let args: Vec<&str> = sent.iter().map(|r| r.args.as_str()).collect();
        let kinds: Vec<&str> = sent.iter().map(|r| r.kind.as_str()).collect();
        let max_attempts: Vec<i16> = sent.iter().map(|r| r.max_attempts).collect();
        let metadata: Vec<&str> = sent.iter().map(|r| r.metadata.as_str()).collect();
        let priorities: Vec<i16> = sent.iter().map(|r| r.priority).collect();
        let queues: Vec<&str> = sent.iter().map(|r| r.queue.as_str()).collect();
        let scheduled: Vec<SystemTime> = sent.iter().map(|r| r.scheduled_at).collect();
        let states: Vec<&str> = sent.iter().map(|r| r.state).collect();
        let tags: Vec<&str> = sent.iter().map(|r| r.tags.as_str()).collect();
        let keys: Vec<&[u8]> = sent.iter().map(|r| r.unique_key.as_slice()).collect();
        let masks: Vec<i32> = sent.iter().map(|r| r.unique_states).collect();
        let returned = conn
            .query(
                &self.insert_sql,
                &[
                    &now,
                    &args,
                    &kinds,
                    &max_attempts,
                    &metadata,
                    &priorities,
                    &queues,
                    &scheduled,
                    &states,
                    &tags,
                    &keys,
                    &masks,
                ],
            )
            .await?;
        let inserted: Vec<InsertResult> = returned.iter().map(row_to_result).collect::<Result<_, _>>()?;
        let mut queues: Vec<&str> = inserted
            .iter()
            .filter(|r| !r.unique_skipped_as_duplicate && r.job.state == "available")
            .map(|r| r.job.queue.as_str())
            .collect();
        queues.sort_unstable();
        queues.dedup();
        if !queues.is_empty() {
            conn.execute(
                include_str!("sql/queue_notify_insert.sql"),
                &[&self.config.schema, &queues],
            )
            .await?;
        }
        Ok(source
            .into_iter()
            .map(|(i, duplicate)| {
                let mut r = inserted[i].clone();
                r.unique_skipped_as_duplicate |= duplicate;
                r
            })
            .collect())
    }
}

fn row_to_result(r: &tokio_postgres::Row) -> Result<InsertResult, Error> {
    Ok(InsertResult {
        job: Job {
            id: r.try_get(0)?,
            args: r.try_get(1)?,
            attempt: r.try_get(2)?,
            attempted_at: r.try_get(3)?,
            attempted_by: r.try_get::<_, Option<Vec<String>>>(4)?.unwrap_or_default(),
            created_at: r.try_get(5)?,
            errors: r.try_get(6)?,
            finalized_at: r.try_get(7)?,
            kind: r.try_get(8)?,
            max_attempts: r.try_get(9)?,
            metadata: r.try_get(10)?,
            priority: r.try_get(11)?,
            queue: r.try_get(12)?,
            scheduled_at: r.try_get(13)?,
            state: r.try_get(14)?,
            tags: r.try_get::<_, Option<Vec<String>>>(15)?.unwrap_or_default(),
            unique_key: r.try_get(16)?,
            unique_states: r.try_get::<_, Option<i32>>(17)?.map(|m| m as u8),
        },
        unique_skipped_as_duplicate: r.try_get(18)?,
    })
}

fn check_contract(kind: &str, validator: &jsonschema::Validator, encoded_args: &str) -> Result<(), Error> {
    let instance: Value =
        serde_json::from_str(encoded_args).map_err(|e| Error::validation("args", "json", e.to_string()))?;
    if let Some(err) = validator.iter_errors(&instance).next() {
        let schema_path = err.schema_path.as_str().to_string();
        return Err(Error::Contract {
            kind: kind.to_string(),
            pointer: err.instance_path.as_str().to_string(),
            rule: schema_path.rsplit('/').next().unwrap_or_default().to_string(),
            message: err.to_string(),
        });
    }
    Ok(())
}

/// River's queue rule: at most 64 characters of lowercase alphanumerics, with single
/// `_`, `-` or `|` separators between them.
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

fn validate_unique(u: &UniqueOpts) -> Result<(), Error> {
    // An empty list of paths is no by_args, so it does not count here (spec/04-unique.md#options).
    if u.exclude_kind && !u.by_args.is_set() && u.by_period.is_none() && !u.by_queue {
        return Err(Error::validation(
            "unique.exclude_kind",
            "requires_dimension",
            "exclude_kind requires by_args, by_period or by_queue",
        ));
    }
    if let Some(p) = u.by_period {
        if p < Duration::from_secs(1) {
            return Err(Error::validation(
                "unique.by_period",
                "range",
                "by_period must be at least 1 second",
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
                    "unique.by_state",
                    "required_states",
                    format!("by_state must include {}", required.as_str()),
                ));
            }
        }
    }
    Ok(())
}
