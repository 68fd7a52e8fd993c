//! A blocking client, for programs without an async runtime, in the style of the `postgres`
//! crate: it owns one connection and a current-thread tokio runtime that drives it.
//!
//! ```no_run
//! use riverboat::blocking::Client;
//! use riverboat::{Config, InsertParams};
//! use serde_json::json;
//!
//! let mut river = Client::connect("host=localhost dbname=app", tokio_postgres::NoTls, riverboat::Client::new(Config::default()))?;
//! river.insert(InsertParams::new("email_send", json!({"to": "a@example.com"})))?;
//! let mut tx = river.transaction()?;
//! tx.execute("UPDATE account SET welcomed = true WHERE email = $1", &[&"b@example.com"])?;
//! tx.insert(InsertParams::new("email_send", json!({"to": "b@example.com"})))?;
//! tx.commit()?;                                   // the row, the job and its notification together
//! # Ok::<(), riverboat::Error>(())
//! ```

use crate::{Error, InsertParams, InsertResult};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Socket};

/// An insert-only client that blocks: one connection, driven by a runtime of its own.
pub struct Client {
    inserter: crate::Client,
    conn: tokio_postgres::Client,
    connection: JoinHandle<()>,
    runtime: Runtime,
}

impl Client {
    /// Connects with a libpq-style connection string (`host=… dbname=…` or a
    /// `postgresql://` URL); `inserter` holds the configuration and any contracts.
    pub fn connect<T>(params: &str, tls: T, inserter: crate::Client) -> Result<Self, Error>
    where
        T: MakeTlsConnect<Socket> + 'static + Send,
        T::TlsConnect: Send,
        T::Stream: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Io)?;
        let (conn, connection) = runtime.block_on(tokio_postgres::connect(params, tls))?;
        // A current-thread runtime runs this task only inside block_on, that is while a
        // call on this client waits for the database, which is exactly when it is needed.
        // Its error, if the connection breaks, comes back from the next call.
        let connection = runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(Client {
            inserter,
            conn,
            connection,
            runtime,
        })
    }

    /// The async client inside, for `check` and contracts.
    pub fn inserter(&self) -> &crate::Client {
        &self.inserter
    }

    /// Inserts one job in a transaction of its own.
    pub fn insert(&mut self, params: InsertParams) -> Result<InsertResult, Error> {
        self.runtime.block_on(self.inserter.insert(&mut self.conn, params))
    }

    /// Inserts a batch atomically in a transaction of its own; results in input order.
    pub fn insert_many(&mut self, params: Vec<InsertParams>) -> Result<Vec<InsertResult>, Error> {
        self.runtime.block_on(self.inserter.insert_many(&mut self.conn, params))
    }

    /// Runs a statement outside any transaction; returns the number of rows affected.
    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        Ok(self.runtime.block_on(self.conn.execute(sql, params))?)
    }

    /// Begins a transaction: jobs inserted in it appear (and wake workers) on its commit.
    /// Dropped without `commit`, it rolls back.
    pub fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        let tx = self.runtime.block_on(self.conn.transaction())?;
        Ok(Transaction {
            runtime: &self.runtime,
            inserter: &self.inserter,
            tx,
        })
    }

    /// Closes the connection cleanly (dropping the client just drops the socket).
    pub fn close(self) {
        let Client {
            conn,
            connection,
            runtime,
            ..
        } = self;
        // With the last client handle gone the connection task sends Terminate and ends.
        drop(conn);
        let _ = runtime.block_on(connection);
    }
}

/// The caller's transaction: the jobs inserted in it commit or roll back with its other writes.
pub struct Transaction<'a> {
    runtime: &'a Runtime,
    inserter: &'a crate::Client,
    tx: tokio_postgres::Transaction<'a>,
}

impl Transaction<'_> {
    /// Inserts one job in this transaction.
    pub fn insert(&mut self, params: InsertParams) -> Result<InsertResult, Error> {
        self.runtime.block_on(self.inserter.insert_tx(&self.tx, params))
    }

    /// Inserts a batch in this transaction; results in input order.
    pub fn insert_many(&mut self, params: Vec<InsertParams>) -> Result<Vec<InsertResult>, Error> {
        self.runtime.block_on(self.inserter.insert_many_tx(&self.tx, params))
    }

    /// Runs one of the caller's statements in this transaction; returns the rows affected.
    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        Ok(self.runtime.block_on(self.tx.execute(sql, params))?)
    }

    /// Runs one of the caller's queries in this transaction.
    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        Ok(self.runtime.block_on(self.tx.query(sql, params))?)
    }

    /// Commits: the rows, the jobs and their insert notification become visible together.
    pub fn commit(self) -> Result<(), Error> {
        Ok(self.runtime.block_on(self.tx.commit())?)
    }

    /// Rolls back everything done in this transaction, jobs included.
    pub fn rollback(self) -> Result<(), Error> {
        Ok(self.runtime.block_on(self.tx.rollback())?)
    }
}
