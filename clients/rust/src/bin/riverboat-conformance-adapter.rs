//! Conformance adapter (conformance/ADAPTER.md, profile insert-only-v1): JSON-RPC 2.0 over
//! stdio, one request per line, driving the riverboat Rust client's public API.

use riverboat::{
    Args, ByArgs, Client, Config, Error, InsertOpts, InsertParams, InsertResult, JobState, KindDefaults, UniqueOpts,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};

struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }
}

impl From<Error> for RpcError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Validation { field, rule, .. } => RpcError {
                code: -32602,
                message,
                data: Some(json!({"field": field, "rule": rule})),
            },
            Error::Contract { pointer, keyword, .. } => RpcError {
                code: -32002,
                message,
                data: Some(json!({"reason": "contract_violation", "pointer": pointer, "rule": keyword})),
            },
            Error::Io(_) => RpcError::new(-32000, message),
            Error::Database(db) => {
                let data = db.code().map(|c| json!({"sqlstate": c.code()}));
                RpcError {
                    code: -32003,
                    message,
                    data,
                }
            }
        }
    }
}

fn bad_params(e: serde_json::Error) -> RpcError {
    RpcError::new(-32602, format!("invalid params: {e}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobParams {
    kind: String,
    args: Option<Box<RawValue>>,
    args_json: Option<String>,
    #[serde(default)]
    opts: Option<OptsParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptsParams {
    queue: Option<String>,
    priority: Option<i64>,
    max_attempts: Option<i64>,
    scheduled_at: Option<String>,
    pending: Option<bool>,
    tags: Option<Vec<String>>,
    metadata: Option<Value>,
    unique_opts: Option<UniqueParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UniqueParams {
    by_args: Option<Value>,
    by_period_seconds: Option<f64>,
    by_queue: Option<bool>,
    by_state: Option<Vec<String>>,
    exclude_kind: Option<bool>,
}

fn raw_args(args: Option<Box<RawValue>>, args_json: Option<String>) -> Result<Args, RpcError> {
    match (args, args_json) {
        (Some(_), Some(_)) => Err(Error::Validation {
            field: "args".into(),
            rule: "conflict".into(),
            message: "give args or args_json, not both".into(),
        }
        .into()),
        (Some(raw), None) => Ok(Args::Raw(raw.get().to_string())),
        (None, Some(text)) => Ok(Args::Raw(text)),
        (None, None) => Err(Error::Validation {
            field: "args".into(),
            rule: "required".into(),
            message: "args are required".into(),
        }
        .into()),
    }
}

fn unique_opts(
    by_args: Option<Value>,
    period: Option<Duration>,
    by_queue: Option<bool>,
    by_state: Option<Vec<String>>,
    exclude_kind: Option<bool>,
) -> Result<UniqueOpts, RpcError> {
    let by_args = match by_args {
        None | Some(Value::Null) | Some(Value::Bool(false)) => ByArgs::No,
        Some(Value::Bool(true)) => ByArgs::All,
        Some(Value::Array(paths)) => ByArgs::Paths(
            paths
                .into_iter()
                .map(|p| {
                    p.as_str()
                        .map(String::from)
                        .ok_or_else(|| RpcError::new(-32602, "by_args paths must be strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(RpcError::new(-32602, "by_args must be a boolean or a list of paths")),
    };
    let by_state = match by_state {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| JobState::parse(n))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(UniqueOpts {
        by_args,
        by_period: period,
        by_queue: by_queue.unwrap_or(false),
        by_state,
        exclude_kind: exclude_kind.unwrap_or(false),
    })
}

fn insert_params(p: JobParams) -> Result<InsertParams, RpcError> {
    let args = raw_args(p.args, p.args_json)?;
    let mut opts = InsertOpts::default();
    if let Some(o) = p.opts {
        opts.queue = o.queue;
        opts.priority = o.priority;
        opts.max_attempts = o.max_attempts;
        opts.scheduled_at = o
            .scheduled_at
            .as_deref()
            .map(riverboat::time::parse_rfc3339)
            .transpose()?;
        opts.pending = o.pending.unwrap_or(false);
        opts.tags = o.tags;
        opts.metadata = o.metadata;
        if let Some(u) = o.unique_opts {
            let period = match u.by_period_seconds {
                Some(seconds) => Some(Duration::try_from_secs_f64(seconds).map_err(|_| Error::Validation {
                    field: "unique_opts.by_period".into(),
                    rule: "range".into(),
                    message: format!("by_period_seconds {seconds} is not a duration"),
                })?),
                None => None,
            };
            opts.unique = Some(unique_opts(u.by_args, period, u.by_queue, u.by_state, u.exclude_kind)?);
        }
    }
    Ok(InsertParams {
        kind: p.kind,
        args,
        opts,
    })
}

#[derive(Serialize)]
struct NormalizedJob {
    id: i64,
    args: Box<RawValue>,
    attempt: i16,
    attempted_at: Option<String>,
    attempted_by: Vec<String>,
    created_at: String,
    errors: Box<RawValue>,
    finalized_at: Option<String>,
    kind: String,
    max_attempts: i16,
    metadata: Box<RawValue>,
    priority: i16,
    queue: String,
    scheduled_at: String,
    state: String,
    tags: Vec<String>,
    unique_key: Option<String>,
    unique_states: Option<Vec<&'static str>>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A time as the protocol writes it (ADAPTER.md#values): the client's RFC 3339 text with the
/// trailing zeros of its fraction trimmed (no fraction at all for a whole second).
fn protocol_time(t: SystemTime) -> String {
    let text = riverboat::time::format_rfc3339(t);
    match text.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((whole, fraction)) => match fraction.trim_end_matches('0') {
            "" => format!("{whole}Z"),
            kept => format!("{whole}.{kept}Z"),
        },
        None => text,
    }
}

/// A result as raw JSON, so that args and metadata go out exactly as the database returned them
/// (a `Value` would turn integers beyond 64 bits into floats).
fn raw_json(value: &impl Serialize) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(value).map_err(|e| RpcError::new(-32000, e.to_string()))
}

#[derive(Serialize)]
struct InsertResultJson {
    job: NormalizedJob,
    unique_skipped_as_duplicate: bool,
}

#[derive(Serialize)]
struct InsertResultsJson {
    results: Vec<Box<RawValue>>,
}

fn result_json(r: InsertResult) -> Result<Box<RawValue>, RpcError> {
    let fmt = protocol_time;
    let raw = |s: String| RawValue::from_string(s).map_err(|e| RpcError::new(-32000, e.to_string()));
    let j = r.job;
    let job = NormalizedJob {
        id: j.id,
        args: raw(j.args)?,
        attempt: j.attempt,
        attempted_at: j.attempted_at.map(fmt),
        attempted_by: j.attempted_by,
        created_at: fmt(j.created_at),
        errors: raw(j.errors)?,
        finalized_at: j.finalized_at.map(fmt),
        kind: j.kind,
        max_attempts: j.max_attempts,
        metadata: raw(j.metadata)?,
        priority: j.priority,
        queue: j.queue,
        scheduled_at: fmt(j.scheduled_at),
        state: j.state,
        tags: j.tags,
        unique_key: j.unique_key.as_deref().map(hex),
        unique_states: j.unique_states.map(|m| {
            JobState::ALL
                .iter()
                .filter(|s| m & (1 << (**s as u8)) != 0)
                .map(|s| s.as_str())
                .collect()
        }),
    };
    raw_json(&InsertResultJson {
        job,
        unique_skipped_as_duplicate: r.unique_skipped_as_duplicate,
    })
}

fn results_json(rs: Vec<InsertResult>) -> Result<Box<RawValue>, RpcError> {
    raw_json(&InsertResultsJson {
        results: rs.into_iter().map(result_json).collect::<Result<Vec<_>, _>>()?,
    })
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// A request to the task that owns one open transaction's connection.
enum TxCommand {
    Insert(Arc<Client>, Vec<InsertParams>, Reply<Vec<InsertResult>>),
    Commit(Reply<()>),
    Rollback(Reply<()>),
}

async fn connect(cfg: &tokio_postgres::Config) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection error: {e}");
        }
    });
    Ok(client)
}

async fn run_transaction(mut conn: tokio_postgres::Client, mut rx: mpsc::UnboundedReceiver<TxCommand>) {
    let Ok(tx) = conn.transaction().await else { return };
    while let Some(cmd) = rx.recv().await {
        match cmd {
            TxCommand::Insert(client, params, reply) => {
                let _ = reply.send(client.insert_many_tx(&tx, params).await);
            }
            TxCommand::Commit(reply) => {
                let _ = reply.send(tx.commit().await.map_err(Error::from));
                return;
            }
            TxCommand::Rollback(reply) => {
                let _ = reply.send(tx.rollback().await.map_err(Error::from));
                return;
            }
        }
    }
}

struct Adapter {
    pg: tokio_postgres::Config,
    conn: Option<tokio_postgres::Client>,
    client: Arc<Client>,
    config: Config,
    contracts: Vec<(String, Value)>,
    txs: HashMap<String, mpsc::UnboundedSender<TxCommand>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyParams {
    jobs: Vec<JobParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandleParams {
    handle: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TxJobParams {
    handle: String,
    job: JobParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TxManyParams {
    handle: String,
    jobs: Vec<JobParams>,
}

#[derive(Deserialize)]
struct UniqueKeyParams {
    kind: String,
    args: Option<Box<RawValue>>,
    args_json: Option<String>,
    #[serde(default)]
    opts: Option<OptsParams>,
    now: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractParams {
    kind: String,
    contract: Value,
}

impl Adapter {
    async fn conn(&mut self) -> Result<&mut tokio_postgres::Client, RpcError> {
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = Some(connect(&self.pg).await?);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    async fn tx_call<T>(&self, handle: &str, make: impl FnOnce(Reply<T>) -> TxCommand) -> Result<T, RpcError> {
        let sender = self
            .txs
            .get(handle)
            .ok_or_else(|| RpcError::new(-32001, format!("unknown transaction handle {handle:?}")))?;
        let (reply, wait) = oneshot::channel();
        sender
            .send(make(reply))
            .map_err(|_| RpcError::new(-32000, "transaction task ended"))?;
        Ok(wait
            .await
            .map_err(|_| RpcError::new(-32000, "transaction task ended"))??)
    }

    async fn handle(&mut self, method: &str, params: &str) -> Result<Box<RawValue>, RpcError> {
        match method {
            "handshake" => raw_json(&json!({
                "adapter_version": 1,
                "backend": "postgres",
                "capabilities": ["insert", "lifecycle", "transactions", "unique_jobs", "unique_key", "unique_by_args_paths", "args_contract", "validation", "kind_validation", "reserved_metadata"],
                "implementation": "riverboat-rust",
                "implementation_version": env!("CARGO_PKG_VERSION"),
                "methods": ["handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback", "unique_key", "contract_load"],
                "migration_lines": {"main": 8},
                "profile": "insert-only-v1",
                "protocol_revision": 1,
            })),
            "insert" => {
                let p = insert_params(serde_json::from_str(params).map_err(bad_params)?)?;
                let client = self.client.clone();
                let r = client.insert(self.conn().await?, p).await?;
                result_json(r)
            }
            "insert_many" => {
                let p: ManyParams = serde_json::from_str(params).map_err(bad_params)?;
                let jobs = p.jobs.into_iter().map(insert_params).collect::<Result<Vec<_>, _>>()?;
                let client = self.client.clone();
                results_json(client.insert_many(self.conn().await?, jobs).await?)
            }
            "tx_begin" => {
                let p: HandleParams = serde_json::from_str(params).map_err(bad_params)?;
                if p.handle.is_empty() || self.txs.contains_key(&p.handle) {
                    return Err(RpcError::new(-32602, "handle must be non-empty and not in use"));
                }
                let conn = connect(&self.pg).await?;
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run_transaction(conn, rx));
                self.txs.insert(p.handle, tx);
                raw_json(&json!({}))
            }
            "tx_insert" => {
                let p: TxJobParams = serde_json::from_str(params).map_err(bad_params)?;
                let job = insert_params(p.job)?;
                let client = self.client.clone();
                let mut rs = self
                    .tx_call(&p.handle, |reply| TxCommand::Insert(client, vec![job], reply))
                    .await?;
                result_json(rs.remove(0))
            }
            "tx_insert_many" => {
                let p: TxManyParams = serde_json::from_str(params).map_err(bad_params)?;
                let jobs = p.jobs.into_iter().map(insert_params).collect::<Result<Vec<_>, _>>()?;
                let client = self.client.clone();
                results_json(
                    self.tx_call(&p.handle, |reply| TxCommand::Insert(client, jobs, reply))
                        .await?,
                )
            }
            "tx_commit" | "tx_rollback" => {
                let p: HandleParams = serde_json::from_str(params).map_err(bad_params)?;
                let commit = method == "tx_commit";
                let outcome = self
                    .tx_call(&p.handle, |reply| {
                        if commit {
                            TxCommand::Commit(reply)
                        } else {
                            TxCommand::Rollback(reply)
                        }
                    })
                    .await;
                self.txs.remove(&p.handle);
                outcome?;
                raw_json(&json!({}))
            }
            "unique_key" => {
                let p: UniqueKeyParams = serde_json::from_str(params).map_err(bad_params)?;
                let now = riverboat::time::parse_rfc3339(&p.now)?;
                let job = insert_params(JobParams {
                    kind: p.kind,
                    args: p.args,
                    args_json: p.args_json,
                    opts: p.opts,
                })?;
                let Some(unique) = job.opts.unique.filter(|u| u.is_unique()) else {
                    return raw_json(&json!({"sha256": null, "state_mask": null}));
                };
                let encoded = job.args.encode()?;
                let queue = job.opts.queue.unwrap_or_else(|| "default".into());
                let key =
                    riverboat::unique::unique_key(&job.kind, &encoded, &queue, &unique, job.opts.scheduled_at, now)?;
                raw_json(&json!({"sha256": hex(&key), "state_mask": riverboat::unique::state_mask(&unique)}))
            }
            "contract_load" => {
                let p: ContractParams = serde_json::from_str(params).map_err(bad_params)?;
                self.contracts.retain(|(k, _)| k != &p.kind);
                self.contracts.push((p.kind, p.contract));
                let mut client = Client::new(self.config.clone());
                for (kind, schema) in &self.contracts {
                    client.set_kind_contract(kind, schema, KindDefaults::default())?;
                }
                self.client = Arc::new(client);
                raw_json(&json!({}))
            }
            _ => Err(RpcError::new(-32601, format!("method not found: {method}"))),
        }
    }
}

#[derive(Serialize)]
struct Success<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: &'a RawValue,
}

#[derive(Deserialize)]
struct Request {
    jsonrpc: String,
    id: Value,
    method: String,
    #[serde(default)]
    params: Option<Box<RawValue>>,
}

fn main() {
    let url = std::env::var("RIVER_CONFORMANCE_DATABASE_URL").expect("RIVER_CONFORMANCE_DATABASE_URL is required");
    let mut pg: tokio_postgres::Config = url.parse().expect("RIVER_CONFORMANCE_DATABASE_URL is not a valid URL");
    if let Ok(name) = std::env::var("RIVER_CONFORMANCE_APPLICATION_NAME") {
        if !name.is_empty() {
            pg.application_name(&name);
        }
    }
    let schema = std::env::var("RIVER_CONFORMANCE_SCHEMA").ok().filter(|s| !s.is_empty());
    let config = Config {
        schema,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut adapter = Adapter {
        pg,
        conn: None,
        client: Arc::new(Client::new(config.clone())),
        config,
        contracts: Vec::new(),
        txs: HashMap::new(),
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Err(e) => match serde_json::from_str::<Value>(&line) {
                Err(_) => {
                    json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {e}")}})
                }
                Ok(v) => {
                    json!({"jsonrpc": "2.0", "id": v.get("id").cloned().unwrap_or(Value::Null), "error": {"code": -32600, "message": format!("invalid request: {e}")}})
                }
            }
            .to_string(),
            Ok(req) if req.jsonrpc != "2.0" => {
                json!({"jsonrpc": "2.0", "id": req.id, "error": {"code": -32600, "message": "jsonrpc must be \"2.0\""}})
                    .to_string()
            }
            Ok(req) => {
                let params = req.params.as_ref().map(|p| p.get()).unwrap_or("{}");
                match runtime.block_on(adapter.handle(&req.method, params)) {
                    Ok(result) => serde_json::to_string(&Success {
                        jsonrpc: "2.0",
                        id: &req.id,
                        result: &result,
                    })
                    .expect("response serializes"),
                    Err(e) => {
                        let mut error = json!({"code": e.code, "message": e.message});
                        if let Some(data) = e.data {
                            error["data"] = data;
                        }
                        json!({"jsonrpc": "2.0", "id": req.id, "error": error}).to_string()
                    }
                }
            }
        };
        let out = response + "\n";
        if stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()).is_err() {
            break;
        }
    }
}
