//! The insert-only client: resolves each job's options to column values, then writes a
//! batch in one statement (spec/03-insert.md).

use crate::contract::{Contracts, KindDefaults};
use crate::validation::{
    reject_nul, validate_kind, validate_max_attempts, validate_metadata, validate_priority, validate_queue,
    validate_tag, validate_unique,
};
use crate::{json, unique, Error, InsertParams, InsertResult};
use serde_json::Value;
use std::collections::HashMap;
use std::time::SystemTime;
use tokio_postgres::GenericClient;

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
    contracts: Contracts,
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

/// The statement's rows in input order. PostgreSQL does not promise RETURNING order, so each
/// row carries `ord`, its job's 1-based position (spec/03-insert.md#the-insert-statement).
fn place_by_ordinal(returned: &[tokio_postgres::Row], count: usize) -> Result<Vec<InsertResult>, Error> {
    let mut placed: Vec<Option<InsertResult>> = vec![None; count];
    for row in returned {
        let ord: i64 = row.try_get("ord")?;
        let slot = usize::try_from(ord - 1).ok().and_then(|i| placed.get_mut(i));
        match slot {
            Some(slot @ None) => *slot = Some(InsertResult::from_row(row)?),
            _ => {
                return Err(invalid_answer(format!(
                    "insert returned ordinal {ord} for a batch of {count} jobs"
                )))
            }
        }
    }
    placed
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid_answer(format!("insert returned {} rows for {count} jobs", returned.len())))
}

/// An answer from the database that breaks the statement's contract.
fn invalid_answer(message: String) -> Error {
    Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, message))
}

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
            contracts: Contracts::default(),
            insert_sql,
        }
    }

    /// Loads a job-args contract document (spec/05-args-contract.md#document):
    /// `{"riverboat_contract": 1, "kinds": {kind: {"args_schema": schema, "insert_opts": {...}}}}`.
    /// Only the kinds it lists are checked; their `insert_opts` become the kinds' defaults.
    pub fn load_contract(&mut self, document: &Value) -> Result<(), Error> {
        self.contracts.load(document)
    }

    /// Registers (or replaces) one kind's args JSON Schema (draft 2020-12) and defaults.
    pub fn set_kind_contract(&mut self, kind: &str, schema: &Value, defaults: KindDefaults) -> Result<(), Error> {
        self.contracts.set(kind, schema, defaults)
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
        // One clock read per batch: created_at, default scheduled_at and the period's
        // "now" are one instant (spec/03-insert.md#clock).
        let now = SystemTime::now();
        let rows = self.prepare(&params, now)?;
        let tx = conn.transaction().await?;
        let results = self.write(&tx, rows, now).await?;
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

    /// Validates and resolves every job; any failure rejects the whole batch, and so does
    /// an empty batch (River Go's InsertMany: "no jobs to insert").
    fn prepare(&self, params: &[InsertParams], now: SystemTime) -> Result<Vec<Row>, Error> {
        if params.is_empty() {
            return Err(Error::validation(
                "params",
                "length",
                "no jobs to insert: a batch needs at least one job",
            ));
        }
        params.iter().map(|p| self.resolve(p, now)).collect()
    }

    fn resolve(&self, p: &InsertParams, now: SystemTime) -> Result<Row, Error> {
        validate_kind(&p.kind)?;
        let args = p.args.encode()?;
        reject_nul("args", &args)?;
        let defaults = self.contracts.check(&p.kind, &args)?;
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
        validate_priority(priority)?;
        let max_attempts = o
            .max_attempts
            .or(defaults.and_then(|d| d.max_attempts))
            .or(self.config.max_attempts)
            .unwrap_or(25);
        validate_max_attempts(max_attempts)?;
        let tags = o
            .tags
            .clone()
            .or_else(|| defaults.and_then(|d| d.tags.clone()))
            .unwrap_or_default();
        for tag in &tags {
            validate_tag(tag)?;
        }
        let metadata = match o
            .metadata
            .as_ref()
            .or_else(|| defaults.and_then(|d| d.metadata.as_ref()))
        {
            None => "{}".to_string(),
            Some(m) => {
                validate_metadata(m)?;
                let encoded =
                    json::encode(m).map_err(|_| Error::validation("metadata", "json", "metadata is not encodable"))?;
                reject_nul("metadata", &encoded)?;
                encoded
            }
        };
        let scheduled_at = o.scheduled_at.or_else(|| defaults.and_then(|d| d.scheduled_at));
        let state = if o.pending || defaults.is_some_and(|d| d.pending) {
            "pending"
        } else if scheduled_at.is_some() {
            "scheduled"
        } else {
            "available"
        };
        let unique_opts = o.unique.as_ref().or_else(|| defaults.and_then(|d| d.unique.as_ref()));
        if let Some(u) = unique_opts {
            validate_unique(u)?;
        }
        let (unique_key, unique_states) = match unique_opts.filter(|u| u.is_unique()) {
            None => (Vec::new(), 0),
            Some(u) => {
                let key = unique::unique_key(&p.kind, &args, &queue, u, scheduled_at, now)?;
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
            scheduled_at: scheduled_at.unwrap_or(now),
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
        let inserted = place_by_ordinal(&returned, sent.len())?;
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
